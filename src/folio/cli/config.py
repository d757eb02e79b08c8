"""Which server the client commands speak to, and with which key: `--server`/`--api-key`, else `FOLIO_SERVER`/
`FOLIO_API_KEY`, else the config file (`$XDG_CONFIG_HOME/folio/config.toml`, by default
`~/.config/folio/config.toml`), else http://127.0.0.1:8000 and no key.

The file is TOML with two strings, `server` and `api_key`. `folio config set` writes it readable by its owner
only (0600); a file that others may read is still used, with a warning, as ssh does not."""

from __future__ import annotations

import json
import os
import stat
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

import typer

from folio.cli.options import ApiKey, Json, Server
from folio.cli.output import EXIT_USAGE, fail, json_line, line, say

DEFAULT_SERVER = "http://127.0.0.1:8000"
KEYS = ("server", "api_key")
# Enough of a key to tell which one it is (`folio_` and a few characters, as the server's key prefix).
SHOWN_KEY_LENGTH = 12

config_app = typer.Typer(help="The client commands' server and key.", no_args_is_help=True)


@dataclass(frozen=True)
class Target:
    server: str
    api_key: str


def config_path() -> Path:
    # The XDG base directory specification: a relative XDG_CONFIG_HOME is ignored.
    base = os.environ.get("XDG_CONFIG_HOME", "")
    root = Path(base) if os.path.isabs(base) else Path.home() / ".config"
    return root / "folio" / "config.toml"


def read_config(path: Path) -> dict[str, str]:
    try:
        with path.open("rb") as file:
            values = tomllib.load(file)
            mode = os.fstat(file.fileno()).st_mode
    except FileNotFoundError:
        return {}
    except (OSError, tomllib.TOMLDecodeError) as exc:
        fail(f"Cannot read the config file {path}: {exc}", EXIT_USAGE)
    for name in KEYS:
        if name in values and not isinstance(values[name], str):
            fail(f"The config file {path}: {name} must be a string.", EXIT_USAGE)
    if "api_key" in values and mode & (stat.S_IRWXG | stat.S_IRWXO):
        say(f"Warning: the config file {path} holds an API key and others may read it; run: chmod 600 {path}")
    return {name: values[name] for name in KEYS if name in values}


def server_address(server: str) -> str:
    """The server's base URL without a trailing slash; exits 2 unless it is http(s)://host[:port][/path]."""
    try:
        parts = urlsplit(server)
        parts.port  # noqa: B018 — raises on a port that is not a number
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        fail(f"Not a server address: {server} (expected http://host:port).", EXIT_USAGE)
    return server.rstrip("/")


def resolve(server: str | None, api_key: str | None) -> Target:
    """The server and key to use (`server` and `api_key` come from the options or their environment variables)."""
    stored = read_config(config_path()) if not (server and api_key) else {}
    address = server_address(server or stored.get("server") or DEFAULT_SERVER)
    key = api_key or stored.get("api_key")
    if not key:
        fail(
            "No API key. Pass --api-key, set FOLIO_API_KEY, or run `folio config set api-key` "
            "(an operator makes one with `folio keys create`).",
            EXIT_USAGE,
        )
    return Target(address, key)


def _write(path: Path, values: dict[str, str]) -> None:
    """Replace the file at once (a reader never sees half of it), created readable by its owner only."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    # TOML basic strings take JSON's escapes.
    text = "".join(f"{name} = {json.dumps(values[name])}\n" for name in KEYS if name in values)
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(text)
    os.replace(temporary, path)


def _read_secret() -> str:
    if sys.stdin.isatty():
        return str(typer.prompt("API key", hide_input=True))
    return sys.stdin.readline().strip()


@config_app.command("set")
def set_value(
    name: Annotated[Literal["server", "api-key"], typer.Argument(metavar="server|api-key", help="What to set.")],
    value: Annotated[
        str | None,
        typer.Argument(
            metavar="VALUE",
            show_default=False,
            help="The server's address, or the key. Leave the key out to type it unseen (or pipe it in), so that "
            "it stays out of the shell's history.",
        ),
    ] = None,
) -> None:
    """Store the server or the API key in the config file.

    The file is created readable by you only."""
    if name == "server":
        if value is None:
            fail("Give the server's address: folio config set server https://folio.example.com", EXIT_USAGE)
        stored_name, stored = "server", server_address(value)
    else:
        stored_name, stored = "api_key", (value if value is not None else _read_secret()).strip()
        if not stored or not stored.isprintable():
            fail("An API key is one line of printable characters.", EXIT_USAGE)
    path = config_path()
    _write(path, {**read_config(path), stored_name: stored})
    say(f"Saved {name} in {path}.")


@config_app.command("unset")
def unset_value(
    name: Annotated[Literal["server", "api-key"], typer.Argument(metavar="server|api-key", help="What to remove.")],
) -> None:
    """Remove the server or the API key from the config file."""
    path = config_path()
    values = read_config(path)
    if values.pop(name.replace("-", "_"), None) is None:
        say(f"{path} holds no {name}.")
        return
    _write(path, values)
    say(f"Removed {name} from {path}.")


@config_app.command("show")
def show(
    server: Server = None,
    api_key: ApiKey = None,
    as_json: Json = False,
) -> None:
    """Show the server and key the client commands use.

    And where each comes from; the key shortened."""
    path = config_path()
    stored = read_config(path)
    chosen_server, server_from = _chosen(server, "FOLIO_SERVER", stored.get("server"), DEFAULT_SERVER)
    chosen_key, key_from = _chosen(api_key, "FOLIO_API_KEY", stored.get("api_key"), None)
    shown_key = None if chosen_key is None else chosen_key[:SHOWN_KEY_LENGTH] + "…"
    if as_json:
        json_line(
            {
                "config_file": str(path),
                "server": chosen_server,
                "server_from": server_from,
                "api_key": shown_key,
                "api_key_from": key_from,
            }
        )
        return
    line(f"config file  {path}")
    line(f"server       {chosen_server}  ({server_from})")
    line(f"api key      {shown_key or '-'}  ({key_from})")


def _chosen(given: str | None, variable: str, stored: str | None, default: str | None) -> tuple[str | None, str]:
    if given:
        return given, variable if os.environ.get(variable) == given else "option"
    if stored:
        return stored, "config file"
    return default, "default" if default is not None else "not set"
