"""A streamed export's memory does not grow with its rows: the Python heap's peak while the app streams 10,000
cases and while it streams 60,000 (cases written straight into the database) stay alike and small. The 1,000,000-row
measurement (throughput and RSS) is the benchmark's (`bench/analytics.py`)."""

from __future__ import annotations

import asyncio
import tracemalloc
from collections.abc import MutableMapping
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.exports.conftest import csv_request
from tests.exports.data import insert_cases
from tests.factories import Account, register

FEW, MANY = 10_000, 60_000
MiB = 1024 * 1024


class Stall:
    """A client that stops reading after the header and the first page of rows, until it is told to go on."""

    def __init__(self) -> None:
        self.pieces = 0
        self.stalled = asyncio.Event()
        self.go_on = asyncio.Event()

    async def piece(self) -> None:
        self.pieces += 1
        if self.pieces == 2:
            self.stalled.set()
            await self.go_on.wait()


async def streamed(app: FastAPI, account: Account, path: str, stall: Stall | None = None) -> tuple[int, int]:
    """Call the ASGI app as a server would, with a client that reads and drops each piece as it comes: the response's
    status and the CSV lines it held. (httpx's ASGI transport would keep the whole body.)"""
    scope = csv_request(path, {"Authorization": f"Bearer {account.access_token}"})
    requested = False
    done = asyncio.Event()
    status, lines = 0, 0

    async def receive() -> dict[str, Any]:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await done.wait()  # the client stays connected until the response ends
        return {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        nonlocal status, lines
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            if stall is not None:
                await stall.piece()
            lines += message.get("body", b"").count(b"\r\n")
            if not message.get("more_body", False):
                done.set()

    await app(scope, receive, send)
    return status, lines


async def peak_while_streaming(app: FastAPI, account: Account) -> tuple[int, int]:
    """The heap's peak (bytes allocated since tracing began) while the cases export streams, and its rows."""
    tracemalloc.start()
    try:
        status, lines = await streamed(app, account, "/api/v1/exports/cases")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert status == 200
    return peak, lines - 1


async def test_a_streamed_export_takes_the_same_memory_for_six_times_the_rows(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    owner = await register(client)
    async with app.state.engine.begin() as connection:
        await insert_cases(connection, owner.org_id, FEW, enriched=False)
    await streamed(app, owner, "/api/v1/exports/cases")  # what a first export sets up once (compiled statements)
    few_peak, few_rows = await peak_while_streaming(app, owner)
    async with app.state.engine.begin() as connection:
        await insert_cases(connection, owner.org_id, MANY - FEW, enriched=False)
    many_peak, many_rows = await peak_while_streaming(app, owner)

    assert (few_rows, many_rows) == (FEW, MANY)
    await holds_no_connection_for_a_stalled_client(app, owner)
    # Two pages at most are held (one written, the next read): a few MiB, whatever the row count.
    assert few_peak < 16 * MiB
    assert many_peak < few_peak * 1.25 + MiB, (few_peak, many_peak)


async def holds_no_connection_for_a_stalled_client(app: FastAPI, account: Account) -> None:
    """While a client reads nothing, its export holds no database connection: the page it waits to send, and the
    next one, were read in transactions that have ended."""
    stall = Stall()
    export = asyncio.create_task(streamed(app, account, "/api/v1/exports/cases", stall))
    pool = app.state.engine.pool
    try:
        async with asyncio.timeout(10):
            await stall.stalled.wait()
        # The app's own background work (the hub's relay, the reaper) borrows connections for moments.
        for _ in range(200):
            if pool.checkedout() == 0:
                break
            await asyncio.sleep(0.05)
        else:
            pytest.fail(f"{pool.checkedout()} connections stay checked out while the client reads nothing")
    finally:
        stall.go_on.set()
    assert await export == (200, MANY + 1)
