"""Reading a server-sent-event stream the way `folio ingest` does."""

from __future__ import annotations

from folio.ingest_client.events import ServerSentEvent, parse


def test_events_are_read_with_their_id_type_and_data_and_comments_are_skipped() -> None:
    lines = [
        "retry: 2000",
        "",
        ": ping",
        "id: 41",
        "event: job.succeeded",
        'data: {"id": 41}',
        "",
        "event: job.progress",
        "data:{",
        "data: }",
        "",
        ": ping",
        "",
    ]

    assert list(parse(lines)) == [
        ServerSentEvent("41", "job.succeeded", '{"id": 41}'),
        ServerSentEvent(None, "job.progress", "{\n}"),
    ]


def test_an_id_alone_is_still_an_event_and_an_unfinished_one_is_not() -> None:
    assert list(parse(["id: 7", "", "event: job.failed", "data: {}"])) == [ServerSentEvent("7", "message", "")]


def test_an_id_with_a_nul_is_ignored() -> None:
    assert list(parse(["id: 1\0", "data: x", ""])) == [ServerSentEvent(None, "message", "x")]
