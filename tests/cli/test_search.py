"""`folio search` and `folio ask` against the live server: text and JSON, the answer streamed, and every error's
exit code."""

from __future__ import annotations

import json
from pathlib import Path

import orjson

from folio.main import create_app
from tests.cli.conftest import Account, RunFolio, Served, new_account
from tests.cli_process import folio_env, run_folio
from tests.conftest import make_settings
from tests.fake_openai import llm_settings, serve_fake_openai
from tests.live_server import serve_in_thread
from tests.processes import free_port

QUESTION = "How many days of paid annual leave do employees get?"
ANSWER = "Employees get twenty-five days of paid annual leave every year."


def test_search_prints_the_hits_best_first(corpus: Account, folio: RunFolio) -> None:
    done = folio("search", "annual leave", "--top-k", "2", key=corpus.api_key)

    assert done.exit_code == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("1. Leave policy  [")
    assert lines[1] == "   Leave policy Employees get twenty-five days of paid annual leave every year"
    assert lines[2].startswith("2. ")
    assert len(lines) == 4
    assert done.stderr == ""


def test_search_json_is_the_api_page(corpus: Account, folio: RunFolio) -> None:
    done = folio("search", "badges", "--mode", "keyword", "--top-k", "1", "--json", key=corpus.api_key)

    assert done.exit_code == 0, done.stderr
    found = json.loads(done.stdout)
    assert found["mode"] == "keyword"
    [hit] = found["items"]
    assert hit["document_title"] == "security.txt"
    assert "<mark>Badges</mark>" in hit["snippet"]
    assert {"next_cursor", "took_ms"} <= found.keys()


def test_ask_streams_the_answer_then_its_citations(corpus: Account, folio: RunFolio, server: Served) -> None:
    done = folio("ask", QUESTION, key=corpus.api_key)

    assert done.exit_code == 0, done.stderr
    assert done.stdout == f'{ANSWER} [1]\n\n[1] Leave policy: "{ANSWER}"\n'
    [asked] = server.recorder.made("POST", "/api/v1/answers")
    assert asked.headers["accept"] == "text/event-stream"


def test_ask_json_prints_each_event_of_the_stream_on_a_line(corpus: Account, folio: RunFolio) -> None:
    done = folio("ask", QUESTION, "--json", key=corpus.api_key)

    assert done.exit_code == 0, done.stderr
    events = [json.loads(line) for line in done.stdout.splitlines()]
    assert [event["type"] for event in events] == ["sources", *["delta"] * (len(events) - 2), "done"]
    assert "".join(event["text"] for event in events if event["type"] == "delta") == f"{ANSWER} [1]"
    [citation] = events[-1]["citations"]
    assert (citation["marker"], citation["document_title"], citation["quote"]) == (1, "Leave policy", ANSWER)


def test_ask_without_streaming_prints_one_json_document(corpus: Account, folio: RunFolio, server: Served) -> None:
    done = folio("ask", QUESTION, "--no-stream", "--json", "--top-k", "2", key=corpus.api_key)

    assert done.exit_code == 0, done.stderr
    answer = json.loads(done.stdout)
    assert (answer["answer"], answer["answered"]) == (f"{ANSWER} [1]", True)
    assert len(answer["sources"]) == 2
    [asked] = server.recorder.made("POST", "/api/v1/answers")
    assert asked.headers["accept"] == "application/json"


def test_an_answer_that_breaks_off_exits_1_with_the_servers_code(
    corpus: Account, database_url: str, folio: RunFolio
) -> None:
    with (
        serve_fake_openai() as model,
        serve_in_thread(create_app(make_settings(database_url, llm=llm_settings(model)))) as url,
    ):
        model.replies.append(f"{ANSWER} [1]")
        model.fail_stream_after = 2

        done = folio("ask", QUESTION, key=corpus.api_key, server=url)

    assert done.exit_code == 1
    # What came before the failure, its line ended; the error on stderr.
    assert done.stdout == "Employees get \n"
    assert done.stderr.startswith("LLM_UNAVAILABLE: ")


def test_a_refused_key_is_a_usage_error_with_the_servers_code(served: Served, folio: RunFolio) -> None:
    done = folio("search", "leave", key="folio_not_a_real_key")

    assert done.exit_code == 2
    assert done.stdout == ""
    assert "The server refused the API key (AUTH_INVALID: " in done.stderr


def test_a_key_without_the_scope_is_refused(served: Served, folio: RunFolio) -> None:
    reader = new_account(served.url, ["documents:read"])

    done = folio("ask", QUESTION, key=reader.api_key)

    assert done.exit_code == 2
    assert "The server refused the API key (" in done.stderr


def test_a_request_the_server_finds_malformed_is_a_usage_error(corpus: Account, folio: RunFolio) -> None:
    done = folio("search", "leave", "--top-k", "100000", key=corpus.api_key)

    assert done.exit_code == 2
    assert done.stderr.startswith("VALIDATION_ERROR: ")
    assert "(request " in done.stderr


def test_an_unreachable_server_is_a_usage_error(folio: RunFolio) -> None:
    server = f"http://127.0.0.1:{free_port()}"

    done = folio("ask", QUESTION, key="folio_test_key", server=server)

    assert done.exit_code == 2
    assert f"Cannot reach the Folio server at {server} (" in done.stderr
    assert "Traceback" not in done.stderr


async def test_folio_ask_streams_in_a_real_process(corpus: Account, served: Served, tmp_path: Path) -> None:
    env = folio_env(FOLIO_SERVER=served.url, FOLIO_API_KEY=corpus.api_key, XDG_CONFIG_HOME=str(tmp_path))

    done = await run_folio("ask", QUESTION, "--json", env=env, cwd=tmp_path)

    assert done.code == 0, done.stderr
    types = [orjson.loads(line)["type"] for line in done.stdout.splitlines()]
    assert (types[0], types[-1]) == ("sources", "done")
    assert done.stderr == ""
