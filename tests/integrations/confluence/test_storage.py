"""Confluence's storage format read as HTML, and summaries written as storage."""

from __future__ import annotations

import pytest

from folio.integrations.connectors._confluence_storage import comment_storage, html_document


def body(storage: str) -> str:
    document = html_document("T", storage)
    return document.split("<body>\n", 1)[1].rsplit("\n</body>", 1)[0]


@pytest.mark.parametrize(
    ("storage", "html"),
    [
        # Code keeps every character, even a CDATA end split across two sections.
        (
            "<ac:plain-text-body><![CDATA[a ]]]]><![CDATA[> b & <c>]]></ac:plain-text-body>",
            "<pre>a ]]&gt; b &amp; &lt;c&gt;</pre>",
        ),
        (
            '<ac:link><ri:page ri:content-title="X" /></ac:link>',
            '<ac:link><ri:page ri:content-title="X" ></ri:page></ac:link>',
        ),
        ('<p><ac:parameter ac:name="a"><ri:user ri:account-id="1" /></ac:parameter>kept</p>', "<p>kept</p>"),
        ('<ac:parameter ac:name="a" />after', "after"),
        ('<p>on <time datetime="2026-01-02" /></p>', "<p>on <time>2026-01-02</time></p>"),
        ("<p>unclosed <![CDATA[ rest</p>", "<p>unclosed <![CDATA[ rest</p>"),
    ],
)
def test_storage_becomes_html_an_html_parser_reads_right(storage: str, html: str) -> None:
    assert body(storage) == html


def test_the_title_is_escaped() -> None:
    assert "<title>&lt;b&gt; &amp; &quot;q&quot;</title>" in html_document('<b> & "q"', "")


def test_a_comment_has_no_characters_xml_refuses() -> None:
    stored = comment_storage("", "a\x00b\x1fc\ufffe", "folio:m")
    assert stored == "<p>abc</p><p><sub>folio:m</sub></p>"
