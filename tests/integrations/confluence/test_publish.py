"""Summaries written back as footer comments, once per marker however often the job runs."""

from __future__ import annotations

import pytest

from folio.integrations.connector import Published
from tests.integrations.confluence.conftest import Connect
from tests.integrations.fakes.confluence import FakeConfluence

SUMMARY = "First paragraph with <script>alert(1)</script> & co.\nSecond line.\n\n## Risks\n\nNone 🚀 \x00found."


def posts(fake: FakeConfluence) -> int:
    return sum(call.method == "POST" for call in fake.calls_to("/footer-comments"))


async def test_a_summary_becomes_a_footer_comment_of_escaped_paragraphs(fake: FakeConfluence, connect: Connect) -> None:
    page = fake.add_page(fake.add_space("ENG"), "Guide")

    async with connect() as connector:
        published = await connector.publish(page.id, title="Summary", markdown=SUMMARY, marker="sum-0001")

    [comment] = fake.comments.values()
    assert published == Published(
        remote_id=comment.id, url=f"{fake.base_url}/wiki/spaces/ENG/pages/{page.id}?focusedCommentId={comment.id}"
    )
    assert (comment.container, comment.container_id) == ("pageId", page.id)
    assert comment.storage == (
        "<p><strong>Summary</strong></p>"
        "<p>First paragraph with &lt;script&gt;alert(1)&lt;/script&gt; &amp; co.<br />Second line.</p>"
        "<p>## Risks</p><p>None 🚀 found.</p><p><sub>folio:sum-0001</sub></p>"
    )


async def test_a_retry_finds_the_comment_and_writes_nothing(fake: FakeConfluence, connect: Connect) -> None:
    page = fake.add_page(fake.add_space("ENG"), "Guide")

    async with connect() as connector:
        first = await connector.publish(page.id, title="Summary", markdown="Text.", marker="sum-0001")
        # Others comment afterwards, past one listing page of comments.
        for number in range(300):
            fake.add_comment(page, f"<p>Reply {number} about folio:sum-00010</p>")
        again = await connector.publish(page.id, title="Summary", markdown="Text.", marker="sum-0001")
        other = await connector.publish(page.id, title="Summary", markdown="Text.", marker="sum-0002")

    assert again == first
    assert other.remote_id != first.remote_id
    assert posts(fake) == 2
    assert len(fake.comments) == 302


async def test_an_attachment_can_carry_the_summary(fake: FakeConfluence, connect: Connect) -> None:
    page = fake.add_page(fake.add_space("ENG"), "Guide")
    attachment = fake.add_attachment(page, "spec.pdf", b"%PDF", "application/pdf")

    async with connect() as connector:
        target = f"attachment:{attachment.id}"
        published = await connector.publish(target, title="Summary", markdown="Text.", marker="sum-0003")
        again = await connector.publish(target, title="Summary", markdown="Text.", marker="sum-0003")

    assert again == published
    assert fake.comments[published.remote_id].container == "attachmentId"
    assert posts(fake) == 1


@pytest.mark.parametrize(("target", "marker"), [("not-a-page", "sum-1"), ("123/../456", "sum-1"), ("123", "a b")])
async def test_a_malformed_target_or_marker_is_refused_before_any_call(
    fake: FakeConfluence, connect: Connect, target: str, marker: str
) -> None:
    async with connect() as connector:
        with pytest.raises(ValueError, match="marker|neither"):
            await connector.publish(target, title="t", markdown="m", marker=marker)
    assert fake.calls == []
