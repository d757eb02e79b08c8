"""Confluence's storage format (its XHTML) to and from what Folio reads and writes.

An HTML parser reads CDATA as a comment and macro parameters as text, so a page's code blocks would vanish and
parameter values ("python", "true") would join its prose: they are rewritten before the body is delivered as HTML.
A comment written back is escaped XHTML, which Confluence checks like XML.
"""

from __future__ import annotations

import html
import re

_SKIPPED = re.compile(r"<(/?)ac:(?:parameter|placeholder|task-id|task-uuid|task-status|adf-attribute)\b[^>]*?(/?)>")
_SELF_CLOSED = re.compile(r"<((?:ac|ri):[A-Za-z-]+)\b([^>]*?)/>")
_TIME = re.compile(r'<time\b[^>]*?datetime="([^"<>]*)"[^>]*?/>')
# Characters XML 1.0 refuses; Confluence rejects a storage body with one.
_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def html_document(title: str, storage: str) -> str:
    escaped = html.escape(title)
    return (
        f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>{escaped}</title></head>\n'
        f"<body>\n{_storage_html(storage)}\n</body></html>\n"
    )


def _storage_html(storage: str) -> str:
    text = _without_cdata(storage)
    text = _without_skipped(text)
    text = _TIME.sub(r"<time>\1</time>", text)
    text = _SELF_CLOSED.sub(r"<\1\2></\1>", text)
    return text.replace("<ac:plain-text-body>", "<pre>").replace("</ac:plain-text-body>", "</pre>")


def _without_cdata(text: str) -> str:
    """CDATA sections (code, link texts) as escaped text; a scan with `find`, linear however the body is made."""
    parts: list[str] = []
    position = 0
    while (start := text.find("<![CDATA[", position)) != -1 and (end := text.find("]]>", start + 9)) != -1:
        parts += [text[position:start], html.escape(text[start + 9 : end], quote=False)]
        position = end + 3
    parts.append(text[position:])
    return "".join(parts)


def _without_skipped(text: str) -> str:
    """The text outside macro parameters, placeholders and task bookkeeping (nesting counted, one pass)."""
    parts: list[str] = []
    depth = position = 0
    for tag in _SKIPPED.finditer(text):
        if depth == 0:
            parts.append(text[position : tag.start()])
        if not tag.group(2):
            depth = max(depth - 1, 0) if tag.group(1) else depth + 1
        position = tag.end()
    if depth == 0:
        parts.append(text[position:])
    return "".join(parts)


def comment_storage(title: str, markdown: str, stamp: str) -> str:
    """The markdown's paragraphs as escaped storage paragraphs (lines kept with <br />), under the title in bold,
    and the stamp a retry finds the comment by."""
    parts = [f"<p><strong>{_xml_text(title)}</strong></p>"] if title.strip() else []
    for paragraph in re.split(r"\n[ \t]*\n", markdown.strip()):
        lines = [_xml_text(line.strip()) for line in paragraph.splitlines() if line.strip()]
        if lines:
            parts.append(f"<p>{'<br />'.join(lines)}</p>")
    parts.append(f"<p><sub>{_xml_text(stamp)}</sub></p>")
    return "".join(parts)


def _xml_text(text: str) -> str:
    return html.escape(_NOT_XML.sub("", text), quote=False)
