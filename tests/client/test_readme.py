"""The README's five lines, as written there, against the live server: upload a folder, wait, print a cited answer."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import folio_client
import pytest

from tests.client.conftest import CORPUS, Served, new_account, write_folder

README = Path(folio_client.__file__).parents[2] / "README.md"


def test_the_five_line_example_prints_a_cited_answer(
    server: Served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    example = re.search(r"## Five lines.*?```python\n(.*?)```", README.read_text(), re.DOTALL)
    assert example is not None
    code = example.group(1)
    account = new_account(server.url)
    write_folder(tmp_path / "handbook", {"leave.md": CORPUS["leave.md"]})
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FOLIO_SERVER", server.url)
    monkeypatch.setenv("FOLIO_API_KEY", account.api_key)

    names: dict[str, Any] = {}
    exec(compile(code, str(README), "exec"), names)  # noqa: S102 — the README's own example
    names["folio"].close()

    assert len([line for line in code.splitlines() if line.strip()]) == 5
    printed = capsys.readouterr().out
    assert printed.startswith("Employees get twenty-five days of paid annual leave every year. [1]")
    assert '[1] Leave policy: "Employees get twenty-five days of paid annual leave every year."' in printed
