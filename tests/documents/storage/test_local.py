"""What only the local backend does: keys map to paths under its root, and partial files of dead uploads go."""

from __future__ import annotations

import os
import time
from datetime import timedelta
from pathlib import Path

import pytest

from folio.documents.storage import LocalStorage


@pytest.mark.parametrize("key", ["../outside", "/etc/passwd", "ab/../../x", "tmp/partial"])
def test_keys_cannot_escape_the_root(tmp_path: Path, key: str) -> None:
    with pytest.raises(ValueError, match="not a storage key"):
        LocalStorage(tmp_path / "files").local_path(key)


async def test_the_partial_file_of_an_upload_abandoned_that_long_is_deleted(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    writer = await storage.writer(max_bytes=100)
    await writer.write(b"the request died here")
    abandoned = next((tmp_path / "tmp").iterdir())
    young = tmp_path / "tmp" / "young"
    young.write_bytes(b"still uploading")
    an_hour_ago = time.time() - 3601
    os.utime(abandoned, (an_hour_ago, an_hour_ago))

    assert await storage.stale(timedelta(hours=1)) == []
    assert list((tmp_path / "tmp").iterdir()) == [young]
    await writer.abort()
