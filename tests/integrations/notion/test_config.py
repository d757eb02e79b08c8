"""What an admin may set for a Notion integration, and the credentials' headers."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from folio.integrations.connectors.notion import NotionConfig, NotionCredentials

DASHED = "1f2e3d4c-5b6a-4978-8695-a4b3c2d1e0f9"


def test_ids_with_or_without_dashes_become_one_dashed_id() -> None:
    config = NotionConfig(page_ids=[DASHED.replace("-", "").upper(), DASHED, f" {DASHED} "], database_ids=[DASHED])

    assert config.page_ids == [DASHED]
    assert config.database_ids == [DASHED]


def test_empty_scope_is_the_default() -> None:
    assert NotionConfig().model_dump() == {"database_ids": [], "page_ids": []}


@pytest.mark.parametrize(
    "bad",
    [
        "not-an-id",
        DASHED[:-1],
        DASHED + "0",
        "https://www.notion.so/Page-1f2e3d4c5b6a49788695a4b3c2d1e0f9",
        "g" * 32,
        "-" * 36,
    ],
)
def test_anything_but_a_notion_id_is_refused(bad: str) -> None:
    with pytest.raises(ValidationError):
        NotionConfig(page_ids=[bad])


def test_lists_are_bounded_and_unknown_fields_refused() -> None:
    many = [f"{n:032x}" for n in range(101)]
    with pytest.raises(ValidationError):
        NotionConfig(database_ids=many)
    with pytest.raises(ValidationError):
        NotionConfig.model_validate({"page_ids": [], "space": "x"})


def test_credentials_give_the_bearer_header_and_hide_the_secret() -> None:
    credentials = NotionCredentials(token="secret_abc123")

    assert credentials.headers() == {"Authorization": "Bearer secret_abc123"}
    assert "secret_abc123" not in repr(credentials)
    with pytest.raises(ValidationError):
        NotionCredentials(token="")
    with pytest.raises(ValidationError):
        NotionCredentials.model_validate({"token": "x", "workspace": "y"})
