from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from folio.documents.filenames import MAX_NAME_LENGTH, display_name, extension


@pytest.mark.parametrize(
    ("client_name", "expected"),
    [
        ("report.pdf", "report.pdf"),
        ("../../etc/passwd", "passwd"),
        ("..\\..\\windows\\system32\\cmd.exe", "cmd.exe"),
        ("/abs/path/notes.md", "notes.md"),
        ("inv\x00oice\r\n.pdf", "invoice.pdf"),
        ("evil\u202egnp.exe", "evilgnp.exe"),  # a right-to-left override that would show "exe.png"
        ("Cafe\u0301.txt", "Café.txt"),  # NFC
        ("..", "untitled"),
        ("", "untitled"),
        (None, "untitled"),
        ("   ", "untitled"),
    ],
)
def test_display_name(client_name: str | None, expected: str) -> None:
    assert display_name(client_name) == expected


def test_long_names_keep_their_extension() -> None:
    name = display_name("x" * 1000 + ".docx")
    assert len(name) == MAX_NAME_LENGTH
    assert name.endswith(".docx")


@given(st.text(max_size=600))
def test_display_names_are_never_paths_or_control_characters(client_name: str) -> None:
    name = display_name(client_name)
    assert name
    assert len(name) <= MAX_NAME_LENGTH
    assert "/" not in name
    assert "\\" not in name
    assert name not in {".", ".."}
    assert all(ord(char) >= 32 and char != "\x7f" for char in name)


@pytest.mark.parametrize(
    ("name", "expected"), [("a.PDF", "pdf"), ("archive.tar.gz", "gz"), ("README", ""), (".env", "")]
)
def test_extension(name: str, expected: str) -> None:
    assert extension(name) == expected
