"""`folio search` and `folio ask`: hybrid search, and cited answers streamed as they are written."""

from __future__ import annotations

import html
import re
import sys
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from folio.cli.connection import connect
from folio.cli.options import ApiKey, Json, Server, StreamJson
from folio.cli.output import json_line, line, page, plain

if TYPE_CHECKING:
    from folio_client import Answer, AnswerStream, Citation, SearchHit

_MARK = re.compile(r"</?mark>")


def search(
    query: Annotated[str, typer.Argument(metavar="QUERY", help="What to look for.")],
    mode: Annotated[
        Literal["hybrid", "vector", "keyword"] | None,
        typer.Option(show_default=False, help="Keywords, meaning (vector) or both (hybrid, the server's default)."),
    ] = None,
    top_k: Annotated[int | None, typer.Option(show_default=False, help="Hits to show (the server's default: 10).")] = (
        None
    ),
    as_json: Json = False,
    server: Server = None,
    api_key: ApiKey = None,
) -> None:
    """Search the documents: the best passages first."""
    with connect(server, api_key) as folio:
        results = folio.search(query, mode=mode, top_k=top_k)
    if as_json:
        json_line({**page(results.items, results.next_cursor), "mode": results.mode, "took_ms": results.took_ms})
        return
    for rank, hit in enumerate(results.items, start=1):
        line(f"{rank}. {hit.document_title}{_pages(hit)}  [{hit.scores.fused:.4f}]  {hit.document_id}")
        line(f"   {_unmarked(hit.snippet)}")


def ask(
    question: Annotated[str, typer.Argument(metavar="QUESTION", help="A question the documents answer.")],
    top_k: Annotated[
        int | None, typer.Option(show_default=False, help="Passages to answer from (the server's default: 6).")
    ] = None,
    no_stream: Annotated[bool, typer.Option("--no-stream", help="Wait for the whole answer, then print it.")] = False,
    as_json: StreamJson = False,
    server: Server = None,
    api_key: ApiKey = None,
) -> None:
    """Answer a question from the documents, citing them.

    The answer's text is printed as it is written, then what it cites: marker, document, page and the quoted
    passage. With --json, each event of the stream on a line (sources, delta…, done); with --no-stream --json, the
    whole answer as one JSON document."""
    with connect(server, api_key) as folio:
        if no_stream:
            answer = folio.answers.create(question, top_k=top_k)
            if as_json:
                json_line(plain(answer))
            else:
                _print_answer(answer)
            return
        with folio.answers.stream(question, top_k=top_k) as stream:
            if as_json:
                for event in stream:
                    json_line(plain(event))
            else:
                _print_stream(stream)


def _print_stream(stream: AnswerStream) -> None:
    from folio_client import DeltaEvent, DoneEvent

    written = False  # text on stdout that no line break has ended yet
    try:
        for event in stream:
            if isinstance(event, DeltaEvent):
                sys.stdout.write(event.text)
                sys.stdout.flush()
                written = True
            elif isinstance(event, DoneEvent):
                line()
                written = False
                _print_citations(event.citations)
    finally:
        if written:  # the stream broke off: the error follows on stderr
            line()


def _print_answer(answer: Answer) -> None:
    line(answer.answer)
    _print_citations(answer.citations)


def _print_citations(citations: list[Citation]) -> None:
    if citations:
        line()
    for citation in citations:
        line(str(citation))


def _pages(hit: SearchHit) -> str:
    if hit.file_type != "pdf":  # the other formats have no pages: theirs is always 1
        return ""
    if hit.page_start == hit.page_end:
        return f", p. {hit.page_start}"
    return f", pp. {hit.page_start}-{hit.page_end}"


def _unmarked(snippet: str) -> str:
    """The snippet as plain text: the highlights' `<mark>` dropped, the HTML escapes undone."""
    return " ".join(html.unescape(_MARK.sub("", snippet)).split())
