"""The worker's liveness file: its reaper touches it after every pass, `python -m folio.heartbeat` judges its age, and
a clean stop removes it. The compose file's use of both is checked in tests/test_containers.py."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from typer.testing import CliRunner

from folio import heartbeat
from folio.cli import app as cli
from folio.db import create_engine, create_sessionmaker
from folio.jobs.queue import JobQueue
from folio.migrate import upgrade_to_head
from folio.settings import JobSettings
from tests.conftest import make_settings
from tests.jobs.conftest import FAST_JOBS, HANDLERS

# Long before any test runs: a file set to it is stale until something touches it again.
LONG_AGO = time.time() - 3600


def check(path: Path, *options: str) -> tuple[int, str]:
    errors = io.StringIO()
    with contextlib.redirect_stderr(errors):
        code = heartbeat.main([str(path), *options])
    return code, errors.getvalue()


def test_a_fresh_heartbeat_passes(tmp_path: Path) -> None:
    (tmp_path / "alive").touch()
    assert check(tmp_path / "alive") == (0, "")


def test_a_stale_heartbeat_fails_with_its_age(tmp_path: Path) -> None:
    heartbeat = tmp_path / "alive"
    heartbeat.touch()
    os.utime(heartbeat, (time.time() - 60, time.time() - 60))
    code, reason = check(heartbeat)
    assert code == 1
    assert reason.startswith(f"stale heartbeat: {heartbeat} was last touched 60 s ago (over 30 s)")
    assert check(heartbeat, "--max-age", "90") == (0, "")


def test_a_missing_heartbeat_fails(tmp_path: Path) -> None:
    code, reason = check(tmp_path / "alive")
    assert code == 1
    assert reason == f"no heartbeat: {tmp_path / 'alive'} cannot be read (No such file or directory)\n"


def test_the_worker_takes_a_heartbeat_file() -> None:
    result = CliRunner().invoke(cli, ["worker", "--help"])
    assert "--heartbeat-file" in result.stdout


@pytest.fixture(scope="module")
async def engine(separate_database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(separate_database_url, make_settings(separate_database_url))
    await upgrade_to_head(engine)
    yield engine
    await engine.dispose()


def age_out(heartbeat: Path) -> None:
    os.utime(heartbeat, (LONG_AGO, LONG_AGO))


def aged(heartbeat: Path) -> bool:
    return heartbeat.stat().st_mtime == LONG_AGO


async def touched(heartbeat: Path) -> None:
    """Age the file out, then wait until something touches it (the reaper runs every 0.1 s here)."""
    age_out(heartbeat)
    async with asyncio.timeout(10):
        while True:
            if not aged(heartbeat):
                return
            await asyncio.sleep(0.05)


async def test_the_reaper_keeps_the_heartbeat_fresh_and_a_stop_removes_it(engine: AsyncEngine, tmp_path: Path) -> None:
    heartbeat = tmp_path / "alive"
    queue = JobQueue(
        create_sessionmaker(engine), JobSettings.model_validate(FAST_JOBS), HANDLERS, None, heartbeat=heartbeat
    )
    await queue.start(consume=True)
    try:
        assert heartbeat.exists()
        await touched(heartbeat)
        await touched(heartbeat)  # not once: after every pass
    finally:
        await queue.stop()
    assert not heartbeat.exists()


async def test_a_failing_pass_still_beats_and_a_hung_one_does_not(
    engine: AsyncEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    heartbeat = tmp_path / "alive"
    queue = JobQueue(
        create_sessionmaker(engine), JobSettings.model_validate(FAST_JOBS), HANDLERS, None, heartbeat=heartbeat
    )
    hung = asyncio.Event()
    release = asyncio.Event()

    async def failing() -> None:
        raise RuntimeError("database away")

    async def hanging() -> None:
        hung.set()
        await release.wait()

    monkeypatch.setattr(queue, "reap", failing)
    await queue.start(consume=True)
    try:
        # The loop goes on past a failed pass (a database outage is no reason to restart the worker).
        await touched(heartbeat)
        monkeypatch.setattr(queue, "reap", hanging)
        await hung.wait()
        age_out(heartbeat)
        # Several reaper intervals with the pass hung: nothing touches the file, so its age grows.
        await asyncio.sleep(0.5)
        assert aged(heartbeat)
        assert check(heartbeat)[0] == 1
        release.set()
        await touched(heartbeat)
    finally:
        await queue.stop()
