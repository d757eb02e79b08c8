"""The storage backends under test: a local directory and a bucket of its own on the session's moto server."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from folio.documents.storage import LocalStorage, S3Storage, Storage
from folio.settings.storage import StorageSettings
from tests.s3 import S3, moto_server


@pytest.fixture(scope="session")
def s3() -> Iterator[S3]:
    """One moto server per test process (each xdist worker starts its own), shared by every test that needs S3."""
    with moto_server() as url:
        yield S3(url)


@pytest.fixture
def bucket(s3: S3) -> str:
    return s3.new_bucket()


@pytest.fixture(params=["local", "s3"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Storage:
    """Each backend in turn: the contract holds for both. Only the S3 one starts moto."""
    if request.param == "local":
        return LocalStorage(tmp_path)
    s3: S3 = request.getfixturevalue("s3")
    return S3Storage(StorageSettings.model_validate(s3.settings(request.getfixturevalue("bucket"))))


@dataclass(frozen=True, slots=True)
class Raw:
    """A backend's files seen without the storage in between: the files under a local root (partial ones too), or a
    bucket's objects and pending multipart uploads."""

    storage: Storage
    s3: S3 | None = None
    bucket: str | None = None

    async def held(self) -> list[str]:
        if self.s3 is None or self.bucket is None:
            assert isinstance(self.storage, LocalStorage)
            root = self.storage.root
            return sorted(path.relative_to(root).as_posix() for path in root.rglob("*") if path.is_file())
        uploads = [f"pending upload of {key}" for key in await self.s3.pending_uploads(self.bucket)]
        return sorted(await self.s3.keys(self.bucket) + uploads)

    async def put(self, key: str, body: bytes) -> None:
        if self.s3 is None or self.bucket is None:
            assert isinstance(self.storage, LocalStorage)
            path = self.storage.root / key
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(body)
        else:
            await self.s3.put(self.bucket, key, body)


@pytest.fixture
def raw(storage: Storage, request: pytest.FixtureRequest) -> Raw:
    if isinstance(storage, LocalStorage):
        return Raw(storage)
    return Raw(storage, request.getfixturevalue("s3"), request.getfixturevalue("bucket"))
