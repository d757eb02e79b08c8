"""The container files read as Docker and Compose read them (the parts Folio's files use), for
tests/test_containers.py: no container daemon runs here, so they are checked without one."""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent.parent


# The Dockerfile


@dataclass(frozen=True)
class Instruction:
    keyword: str
    arguments: str
    line: int

    def options(self) -> tuple[dict[str, list[str]], str]:
        """The leading `--name=value` options (repeatable, as RUN's `--mount`) and what follows them."""
        options: dict[str, list[str]] = {}
        rest = self.arguments
        while match := re.match(r"--([a-z-]+)=(\S+)\s+", rest):
            options.setdefault(match[1], []).append(match[2])
            rest = rest[match.end() :]
        return options, rest

    def exec_form(self) -> list[str]:
        """The JSON array of ENTRYPOINT, CMD, HEALTHCHECK's CMD, VOLUME; an error for the shell form."""
        _, rest = self.options()
        command = json.loads(rest.removeprefix("CMD").strip())
        assert isinstance(command, list), f"line {self.line}: {self.keyword} is not in exec form"
        assert all(isinstance(part, str) for part in command)
        return command

    def variables(self) -> dict[str, str]:
        """ENV's (or LABEL's) `name=value` pairs."""
        return dict(pair.split("=", 1) for pair in shlex.split(self.arguments))


@dataclass
class Stage:
    base: str
    name: str
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [each for each in self.instructions if each.keyword == keyword]

    def last(self, keyword: str) -> Instruction:
        found = self.all(keyword)
        assert found, f"stage {self.name} has no {keyword}"
        return found[-1]


def read_dockerfile(path: Path) -> list[Stage]:
    """The stages in order, each with its instructions: comment lines dropped, continued lines joined."""
    stages: list[Stage] = []
    pending: list[str] = []
    first = 0
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if not pending:
            first = number
        pending.append(line.removesuffix("\\").strip())
        if line.endswith("\\"):
            continue
        keyword, _, arguments = " ".join(pending).partition(" ")
        pending = []
        instruction = Instruction(keyword.upper(), arguments.strip(), first)
        if instruction.keyword == "FROM":
            base, _, name = instruction.arguments.partition(" AS ")
            stages.append(Stage(base=base.strip(), name=name.strip() or str(len(stages))))
        else:
            stages[-1].instructions.append(instruction)
    return stages


def lineage(stages: list[Stage], name: str) -> list[Stage]:
    """The stage `name` and the stages it is built FROM, the first one (on an image) first."""
    by_name = {stage.name: stage for stage in stages}
    chain = [by_name[name]]
    while chain[0].base in by_name:
        chain.insert(0, by_name[chain[0].base])
    return chain


def mounts(instruction: Instruction) -> list[dict[str, str]]:
    """RUN's `--mount=type=…,source=…,target=…` options, each as a mapping."""
    options, _ = instruction.options()
    return [dict(part.split("=", 1) for part in spec.split(",")) for spec in options.get("mount", [])]


# .dockerignore


def _pattern(pattern: str) -> re.Pattern[str]:
    """A .dockerignore pattern (Go's filepath.Match, plus `**` for any number of directories) as a regex."""
    text = pattern.strip("/")
    parts: list[str] = []
    index = 0
    while index < len(text):
        if text.startswith("**/", index):
            parts.append("(?:.*/)?")
            index += 3
        elif text.startswith("**", index):
            parts.append(".*")
            index += 2
        elif text[index] == "*":
            parts.append("[^/]*")
            index += 1
        elif text[index] == "?":
            parts.append("[^/]")
            index += 1
        elif text[index] == "[":
            end = text.index("]", index)
            parts.append("[" + text[index + 1 : end].replace("!", "^", 1) + "]")
            index = end + 1
        else:
            parts.append(re.escape(text[index]))
            index += 1
    return re.compile("".join(parts) + r"\Z")


class DockerIgnore:
    """Whether a path of the repository reaches the build context: the last rule that matches the path or one of
    its parent directories decides, as Docker reads them."""

    def __init__(self, text: str) -> None:
        lines = [line.strip() for line in text.splitlines()]
        self._rules = [
            (line.startswith("!"), _pattern(line.removeprefix("!")))
            for line in lines
            if line and not line.startswith("#")
        ]

    def includes(self, path: str) -> bool:
        parts = path.strip("/").split("/")
        candidates = ["/".join(parts[: end + 1]) for end in range(len(parts))]
        included = True
        for negated, rule in self._rules:
            if any(rule.match(candidate) for candidate in candidates):
                included = negated
        return included


# Compose files


def read_yaml(path: Path) -> dict[str, Any]:
    document = yaml.safe_load(path.read_text())
    assert isinstance(document, dict)
    return document


class MissingVariable(Exception):
    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name}: {message}")
        self.name = name


_VARIABLE = re.compile(r"\$(?:(?P<escaped>\$)|\{(?P<braced>[^}]*)\}|(?P<named>[A-Za-z_][A-Za-z0-9_]*))")
_BRACED = re.compile(r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<operator>:?[-?])(?P<word>.*))?\Z", re.DOTALL)


def _substitute(match: re.Match[str], env: Mapping[str, str]) -> str:
    if match["escaped"]:
        return "$"
    if match["named"]:
        return env.get(match["named"], "")
    braced = _BRACED.match(match["braced"])
    assert braced is not None, f"not a Compose variable: {match[0]}"
    name, operator, word = braced["name"], braced["operator"], braced["word"]
    value = env.get(name)
    # With a colon, an empty value counts as unset.
    is_set = value is not None and (value != "" or not (operator or "").startswith(":"))
    kind = (operator or "").lstrip(":")
    if kind == "?" and not is_set:
        raise MissingVariable(name, word)
    if kind == "-" and not is_set:
        return word
    return value or ""


def interpolate(value: Any, env: Mapping[str, str]) -> Any:
    """`value` with Compose's variables (`$NAME`, `${NAME}`, `${NAME:-default}`, `${NAME:?error}` and their
    colon-less forms, `$$`) replaced from `env`; MissingVariable for a required one that is unset."""
    if isinstance(value, str):
        return _VARIABLE.sub(lambda match: _substitute(match, env), value)
    if isinstance(value, dict):
        return {key: interpolate(item, env) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, env) for item in value]
    return value


def required_variables(value: Any) -> set[str]:
    """The variables written `${NAME:?…}` or `${NAME?…}` anywhere in `value`."""
    if isinstance(value, str):
        return set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*):?\?", value))
    if isinstance(value, dict):
        return set().union(*(required_variables(item) for item in value.values()))
    if isinstance(value, list):
        return set().union(*(required_variables(item) for item in value))
    return set()


def env_file(path: Path) -> dict[str, str]:
    """`NAME=value` lines of an env file, comments left out."""
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if line and not line.startswith("#"))
    return {name.strip(): value.strip() for name, value in pairs}
