"""A `folio serve` in a child process, and the memory of processes from /proc (psutil is not a dependency): shared
by the live-server tests and the benchmarks. Also the processes of a scale-out topology (`folio serve`,
`folio worker`, a Redis server of the test's own), driven from a test's event loop."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import httpx
from redis.asyncio import Redis
from redis.exceptions import RedisError

from folio.db import create_engine
from folio.embedded_postgres import EmbeddedPostgres
from folio.migrate import upgrade_to_head
from tests.conftest import TEST_ENCRYPTION_KEY, TEST_JWT_SECRET, make_settings

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_ready(url: str, *, seconds: float = 120, log: Path | None = None) -> None:
    """Until `url` answers 200; exits with the server's log tail when it never does."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    tail = f":\n{log.read_text()[-3000:]}" if log is not None and log.exists() else ""
    raise SystemExit(f"server at {url} did not become ready{tail}")


@contextmanager
def folio_server(
    data_dir: Path, settings: Mapping[str, str] | None = None, *, cpu: int | None = None
) -> Iterator[tuple[int, str]]:
    """A `folio serve` on a free port with the embedded database under `data_dir`, rate limits out of the way, and
    `settings` (FOLIO_* variables) on top; pinned to `cpu` if given. Yields its pid and base URL."""
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("FOLIO_")},
        "FOLIO_DATA_DIR": str(data_dir),
        "FOLIO_RATE_LIMIT__USER": "100000000/minute",
        "FOLIO_RATE_LIMIT__API_KEY": "100000000/minute",
        "FOLIO_RATE_LIMIT__AUTH": "1000/minute",
        **(settings or {}),
    }
    data_dir.mkdir(parents=True, exist_ok=True)
    log = data_dir / "server.log"
    with log.open("ab") as output:
        process = subprocess.Popen(  # noqa: S603 — our own interpreter and arguments
            [sys.executable, "-m", "folio", "serve", "--port", str(port)],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=output,
        )
    try:
        if cpu is not None:
            os.sched_setaffinity(process.pid, {cpu})
        wait_ready(f"http://127.0.0.1:{port}/health/ready", seconds=300, log=log)
        yield process.pid, f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(120)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# Processes of a scale-out topology, on the test's event loop.

Process = asyncio.subprocess.Process


def folio_environment(data_dir: Path, settings: Mapping[str, str]) -> dict[str, str]:
    """The environment of a `folio` child: none of the developer's own FOLIO_ variables, then FOLIO_DATA_DIR and
    `settings`."""
    inherited = {key: value for key, value in os.environ.items() if not key.startswith("FOLIO_")}
    return {**inherited, "FOLIO_DATA_DIR": str(data_dir), **settings}


@asynccontextmanager
async def folio_process(*args: str, data_dir: Path, settings: Mapping[str, str], log: Path) -> AsyncIterator[Process]:
    """`folio <args>` (such as `serve --port 8001` or `worker`) in a child process, its output appended to `log`.
    Ended with SIGTERM when the block ends (SIGKILL if it lingers), unless it has exited already."""
    with log.open("ab") as output:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "folio",
            *args,
            # Unbuffered, so the log shows what the process did up to the moment it was killed.
            env={**folio_environment(data_dir, settings), "PYTHONUNBUFFERED": "1"},
            cwd=ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        yield process
    finally:
        await terminate(process)


async def terminate(process: Process, *, seconds: float = 30) -> None:
    """SIGTERM, then SIGKILL after `seconds`; nothing if the process has exited already."""
    if process.returncode is None:
        with suppress(ProcessLookupError):  # it exited meanwhile
            process.terminate()
        try:
            async with asyncio.timeout(seconds):
                await process.wait()
        except TimeoutError:
            process.kill()
            await process.wait()


def log_text(log: Path) -> str:
    return log.read_text(errors="replace") if log.exists() else ""


def log_tail(log: Path) -> str:
    return log_text(log)[-3000:] or "(nothing logged)"


async def until_answering(url: str, process: Process, log: Path, *, seconds: float = 120) -> None:
    """Until GET `url` answers 200; fails with the log's tail when the process exits or `seconds` pass first."""
    try:
        async with asyncio.timeout(seconds), httpx.AsyncClient(timeout=2) as client:
            while process.returncode is None:
                try:
                    if (await client.get(url)).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
    except TimeoutError:
        raise AssertionError(f"{url} did not answer within {seconds} s:\n{log_tail(log)}") from None
    raise AssertionError(f"the process serving {url} exited with {process.returncode}:\n{log_tail(log)}")


async def until_logged(text: str, process: Process, log: Path, *, seconds: float = 120) -> None:
    """Until `log` holds `text`; fails with the log's tail when the process exits or `seconds` pass first."""
    try:
        async with asyncio.timeout(seconds):
            while process.returncode is None:
                if text in log_text(log):
                    return
                await asyncio.sleep(0.1)
    except TimeoutError:
        raise AssertionError(f"{text!r} was not logged within {seconds} s:\n{log_tail(log)}") from None
    raise AssertionError(f"the process exited with {process.returncode} before logging {text!r}:\n{log_tail(log)}")


class RedisServer:
    """A `redis-server` of the test's own on a free port, without persistence: stopping it loses every key, stream,
    consumer group and subscription, as a crashed cache does. A test may stop and start it again (same port)
    without touching the Redis other tests share."""

    def __init__(self, executable: str, log: Path) -> None:
        self.executable = executable
        self.log = log
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._process: Process | None = None

    async def start(self, *, seconds: float = 30) -> None:
        with self.log.open("ab") as output:
            self._process = process = await asyncio.create_subprocess_exec(
                self.executable,
                *("--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no"),
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        client = Redis.from_url(self.url)
        try:
            async with asyncio.timeout(seconds):
                while process.returncode is None:
                    try:
                        await client.ping()
                        return
                    except (RedisError, OSError):
                        await asyncio.sleep(0.05)
        except TimeoutError:
            raise AssertionError(f"redis-server did not answer within {seconds} s:\n{log_tail(self.log)}") from None
        finally:
            await client.aclose()
        raise AssertionError(f"redis-server exited with {process.returncode}:\n{log_tail(self.log)}")

    async def stop(self) -> None:
        if self._process is not None:
            await terminate(self._process)


@dataclass(frozen=True, slots=True)
class Backing:
    """What a topology of Folio processes shares: a scratch directory, a Redis and a migrated PostgreSQL."""

    root: Path
    redis: RedisServer
    database_url: str

    def settings(self, **more: str) -> dict[str, str]:
        """The environment every process of the topology starts with (`more` added)."""
        return {
            "FOLIO_DATABASE_URL": self.database_url,
            "FOLIO_REDIS_URL": self.redis.url,
            "FOLIO_AUTH__JWT_SECRET": TEST_JWT_SECRET,
            "FOLIO_ENCRYPTION_KEYS": TEST_ENCRYPTION_KEY,
            "FOLIO_DB__MIGRATE_ON_START": "false",
            **more,
        }


@asynccontextmanager
async def backing(prefix: str) -> AsyncIterator[Backing]:
    """A Redis of its own and an embedded PostgreSQL migrated to head, in a new scratch directory; all stopped and
    removed on the way out, also after a failed start."""
    redis_server = shutil.which("redis-server")
    assert redis_server is not None, "redis-server is not installed"
    async with AsyncExitStack() as stack:
        # Short, because the embedded server's Unix socket lives in it.
        root = Path(tempfile.mkdtemp(prefix=prefix))
        stack.callback(shutil.rmtree, root, ignore_errors=True)
        redis = RedisServer(redis_server, root / "redis.log")
        stack.push_async_callback(redis.stop)
        await redis.start()
        database = await asyncio.to_thread(EmbeddedPostgres, root / "pg")
        stack.push_async_callback(asyncio.to_thread, database.release)
        engine = create_engine(database.url, make_settings(database.url))
        try:
            await upgrade_to_head(engine)
        finally:
            await engine.dispose()
        yield Backing(root, redis, database.url)


# Processes' memory, from /proc (psutil is not a dependency).

# PostgreSQL runs as the server's children but is not the server's own memory.
POSTGRES = frozenset({"postgres", "pg_ctl"})


def memory(pid: int, field: str) -> int:
    """VmRSS or VmHWM of `pid` in bytes; 0 once it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in status.splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024
    return 0


def proportional(pid: int) -> int:
    """The process's proportional set size in bytes (pages it shares, such as a fork server's, divided among their
    sharers); 0 once it is gone."""
    try:
        rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0
    for line in rollup.splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) * 1024
    return 0


def reset_peak(pid: int) -> bool:
    """Set VmHWM back to the current RSS (Linux ≥ 4.0, own processes), so that it is the peak of what follows."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def descendants(root: int) -> list[int]:
    """Every process below `root`, PostgreSQL's excepted."""
    children: dict[int, list[int]] = {}
    names: dict[int, str] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        pid = int(entry.name)
        names[pid] = stat[stat.index("(") + 1 : stat.rindex(")")]
        children.setdefault(int(stat[stat.rindex(")") + 2 :].split()[1]), []).append(pid)
    found, pending = [], list(children.get(root, ()))
    while pending:
        pid = pending.pop()
        if names[pid] not in POSTGRES:
            found.append(pid)
            pending.extend(children.get(pid, ()))
    return found


def extraction_processes(root: int) -> int:
    """Live extraction children under `root`: the processes the multiprocessing fork server forked. They share its
    command line, so they are told apart by their parent (and a zombie, ended but not yet reaped, is not one)."""
    count, stack = 0, [(root, False)]
    while stack:
        pid, under_fork_server = stack.pop()
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            children = [
                int(child)
                for task in Path(f"/proc/{pid}/task").iterdir()
                for child in (task / "children").read_text().split()
            ]
        except (FileNotFoundError, ProcessLookupError):  # it ended while being read
            continue
        fork_server = b"multiprocessing.forkserver" in cmdline
        if under_fork_server and fork_server and state != "Z":
            count += 1
        stack.extend((child, fork_server) for child in children)
    return count
