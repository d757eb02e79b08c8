"""Where the client commands find their server and key: options, then environment variables, then the config file
(`folio config set`), then the default server; the file written readable by its owner only."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from typer.testing import CliRunner, Result

from folio.cli import app as cli
from tests.cli.conftest import Account, Served


def folio(*args: str, config_home: Path, stdin: str | None = None, **env: str) -> Result:
    """`folio *args` with no FOLIO_SERVER or FOLIO_API_KEY unless given."""
    variables: dict[str, str | None] = {"FOLIO_SERVER": None, "FOLIO_API_KEY": None, **env}
    return CliRunner().invoke(cli, list(args), env={**variables, "XDG_CONFIG_HOME": str(config_home)}, input=stdin)


def test_the_config_file_gives_the_server_and_key_and_only_its_owner_reads_it(
    corpus: Account, served: Served, config_home: Path
) -> None:
    assert folio("config", "set", "server", served.url + "/", config_home=config_home).exit_code == 0
    piped = folio("config", "set", "api-key", config_home=config_home, stdin=corpus.api_key + "\n")
    assert piped.exit_code == 0, piped.stderr

    path = config_home / "folio" / "config.toml"
    assert path.read_text() == f'server = "{served.url}"\napi_key = "{corpus.api_key}"\n'
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    found = folio("search", "annual leave", "--json", config_home=config_home)
    assert found.exit_code == 0, found.stderr
    assert json.loads(found.stdout)["items"][0]["document_title"] == "Leave policy"
    assert found.stderr == ""


def test_options_come_before_environment_variables_before_the_file(
    corpus: Account, served: Served, config_home: Path
) -> None:
    folio("config", "set", "server", "http://file.example:1", config_home=config_home)
    folio("config", "set", "api-key", "folio_from_the_file", config_home=config_home)

    def shown(*args: str, **env: str) -> dict[str, str]:
        result = folio("config", "show", "--json", *args, config_home=config_home, **env)
        assert result.exit_code == 0, result.stderr
        return dict(json.loads(result.stdout))

    from_file = shown()
    assert (from_file["server"], from_file["server_from"]) == ("http://file.example:1", "config file")
    assert (from_file["api_key"], from_file["api_key_from"]) == ("folio_from_t…", "config file")
    from_env = shown(FOLIO_SERVER=served.url, FOLIO_API_KEY=corpus.api_key)
    assert (from_env["server"], from_env["server_from"]) == (served.url, "FOLIO_SERVER")
    assert from_env["api_key_from"] == "FOLIO_API_KEY"
    from_option = shown("--server", "http://option.example:2", FOLIO_SERVER=served.url)
    assert (from_option["server"], from_option["server_from"]) == ("http://option.example:2", "option")
    # The key in the environment wins over the file's (which the server would refuse).
    found = folio("search", "leave", config_home=config_home, FOLIO_SERVER=served.url, FOLIO_API_KEY=corpus.api_key)
    assert found.exit_code == 0, found.stderr


def test_without_any_key_the_default_server_is_named_and_no_key_is_a_usage_error(config_home: Path) -> None:
    shown = folio("config", "show", "--json", config_home=config_home)
    assert json.loads(shown.stdout)["server"] == "http://127.0.0.1:8000"
    assert json.loads(shown.stdout)["api_key"] is None

    searched = folio("search", "leave", config_home=config_home)

    assert searched.exit_code == 2
    assert searched.stdout == ""
    assert "No API key" in searched.stderr
    assert "folio config set api-key" in searched.stderr


def test_a_key_file_others_can_read_works_with_a_warning(corpus: Account, served: Served, config_home: Path) -> None:
    path = config_home / "folio" / "config.toml"
    path.parent.mkdir()
    path.write_text(f'server = "{served.url}"\napi_key = "{corpus.api_key}"\n')
    path.chmod(0o644)

    found = folio("search", "leave", "--json", config_home=config_home)

    assert found.exit_code == 0, found.stderr
    assert f"others may read it; run: chmod 600 {path}" in found.stderr
    assert json.loads(found.stdout)["items"]


def test_unset_removes_the_key(corpus: Account, served: Served, config_home: Path) -> None:
    folio("config", "set", "api-key", corpus.api_key, config_home=config_home)
    assert folio("config", "unset", "api-key", config_home=config_home).exit_code == 0

    searched = folio("search", "leave", config_home=config_home, FOLIO_SERVER=served.url)

    assert searched.exit_code == 2
    assert "No API key" in searched.stderr
    assert "api_key" not in (config_home / "folio" / "config.toml").read_text()


def test_bad_config_is_a_usage_error(config_home: Path) -> None:
    path = config_home / "folio" / "config.toml"
    path.parent.mkdir()
    path.write_text('server = "http://unclosed\n')
    unreadable = folio("search", "leave", config_home=config_home)
    path.write_text("server = 8000\n")
    not_a_string = folio("search", "leave", config_home=config_home)
    not_a_server = folio("config", "set", "server", "ftp://example.com", config_home=config_home)
    no_key = folio("config", "set", "api-key", config_home=config_home, stdin="\n")
    two_lines = folio("config", "set", "api-key", "folio_a\nfolio_b", config_home=config_home)

    for result in (unreadable, not_a_string, not_a_server, no_key, two_lines):
        assert result.exit_code == 2, result.stderr
        assert "Traceback" not in result.stderr
    assert f"Cannot read the config file {path}" in unreadable.stderr
    assert "server must be a string" in not_a_string.stderr
    assert "Not a server address: ftp://example.com" in not_a_server.stderr
    assert path.read_text() == "server = 8000\n"
