"""bench/analytics.py's look inside: the statements a question runs, each under EXPLAIN ANALYZE, and the node of
each plan that took the most time of its own (its hot spot)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession

from folio.db import create_engine
from folio.settings import Settings

Call = Callable[[AsyncSession], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class Node:
    """A plan node: what it does, and its time of its own (its time less its children's, over all its loops and
    parallel workers, so a parallel scan counts the workers' time added up)."""

    label: str
    own_ms: float


@dataclass(frozen=True, slots=True)
class Statement:
    sql: str
    ms: float
    hot: Node
    plan: str


@dataclass
class Profile:
    statements: list[Statement] = field(default_factory=list)
    error: str | None = None

    @property
    def sql_ms(self) -> float:
        return sum(statement.ms for statement in self.statements)

    @property
    def slowest(self) -> Statement | None:
        return max(self.statements, key=lambda statement: statement.ms, default=None)


def _label(node: Mapping[str, Any]) -> str:
    parts = [str(node["Node Type"])]
    if "Relation Name" in node:
        parts.append(f"on {node['Relation Name']}")
    if "Index Name" in node:
        parts.append(f"using {node['Index Name']}")
    # Rows are per loop (an average, fractional since PostgreSQL 18): times loops, all of them.
    loops = int(node.get("Actual Loops", 1)) or 1
    details = [f"{round(float(node.get('Actual Rows', 0)) * loops):,} rows"]
    if node.get("Rows Removed by Filter"):
        details.append(f"{round(float(node['Rows Removed by Filter']) * loops):,} removed by filter")
    if node.get("Heap Fetches"):
        details.append(f"{round(float(node['Heap Fetches']) * loops):,} heap fetches")
    if node.get("Sort Space Type") == "Disk":
        details.append(f"sort on disk {node.get('Sort Space Used', 0):,} kB")
    if int(node.get("Hash Batches", 1)) > 1:
        details.append(f"hash in {node['Hash Batches']} batches")
    if node.get("Workers Launched"):
        details.append(f"{node['Workers Launched']} workers")
    # Blocks of 8 KiB read from outside shared buffers (the OS cache or the disk), and spilled to temporary files.
    read, spilled = int(node.get("Shared Read Blocks", 0)), int(node.get("Temp Written Blocks", 0))
    if read >= 128:
        details.append(f"{read * 8 / 1024:,.0f} MiB read")
    if spilled:
        details.append(f"{spilled * 8 / 1024:,.1f} MiB temp written")
    return " ".join(parts) + f" ({', '.join(details)})"


def _inclusive(node: Mapping[str, Any]) -> float:
    """The node's time over all its loops."""
    return float(node.get("Actual Total Time", 0.0)) * (int(node.get("Actual Loops", 1)) or 1)


def _ctes(node: Mapping[str, Any], found: dict[str, float]) -> dict[str, float]:
    """The time of each CTE's plan, by name: a CTE Scan's time includes it."""
    name = str(node.get("Subplan Name", ""))
    if name.startswith("CTE "):
        found[name.removeprefix("CTE ")] = _inclusive(node)
    for child in node.get("Plans", []):
        _ctes(child, found)
    return found


def _walk(node: Mapping[str, Any], depth: int, lines: list[str], nodes: list[Node], ctes: dict[str, float]) -> float:
    """Append the node's line and its children's; its inclusive time over all its loops."""
    inclusive = _inclusive(node)
    index = len(lines)
    lines.append("")
    children = sum(_walk(child, depth + 1, lines, nodes, ctes) for child in node.get("Plans", []))
    children += ctes.get(str(node.get("CTE Name", "")), 0.0) if node["Node Type"] == "CTE Scan" else 0.0
    own = max(inclusive - children, 0.0)
    label = _label(node)
    lines[index] = f"{'  ' * depth}-> {label}: {inclusive:,.1f} ms, own {own:,.1f} ms"
    nodes.append(Node(label, own))
    return inclusive


def read_plan(explained: Any) -> tuple[float, Node, str]:
    """Execution time, hot spot and a compact text of an EXPLAIN (ANALYZE, FORMAT JSON) answer."""
    document = json.loads(explained) if isinstance(explained, str) else explained
    top = document[0]
    lines: list[str] = []
    nodes: list[Node] = []
    _walk(top["Plan"], 0, lines, nodes, _ctes(top["Plan"], {}))
    hot = max(nodes, key=lambda node: node.own_ms)
    return float(top.get("Execution Time", 0.0)), hot, "\n".join(lines)


async def profile(url: str, calls: Mapping[str, Call | None]) -> dict[str, Profile]:
    """For each call: its SELECT statements under EXPLAIN ANALYZE (each run once before, so that its pages are
    cached as on a busy server). A call that fails is reported, not raised: the code measured is being built."""
    engine = create_engine(url, Settings(_env_file=None, database_url=url))
    captured: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        captured.append((statement, parameters))

    # A query COPY runs (the CSV export's pages) goes to asyncpg without SQLAlchemy: caught here.
    copy_from_query = asyncpg.Connection.copy_from_query

    async def copied(connection: Any, query: str, *args: Any, **options: Any) -> Any:
        captured.append((query, args))
        return await copy_from_query(connection, query, *args, **options)

    found: dict[str, Profile] = {}
    try:
        for name, call in calls.items():
            if call is None:
                continue
            found[name] = result = Profile()
            captured.clear()
            event.listen(engine.sync_engine, "before_cursor_execute", capture)
            asyncpg.Connection.copy_from_query = copied
            try:
                async with AsyncSession(engine) as session:
                    await call(session)
                    await session.rollback()
            except Exception as error:  # reported in the table: the code measured is being built
                result.error = f"{type(error).__name__}: {str(error)[:200]}"
                continue
            finally:
                event.remove(engine.sync_engine, "before_cursor_execute", capture)
                asyncpg.Connection.copy_from_query = copy_from_query
            async with engine.connect() as connection:
                for statement, parameters in captured:
                    if not statement.lstrip().upper().startswith(("SELECT", "WITH")):
                        continue
                    explain = "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + statement
                    await connection.exec_driver_sql(explain, parameters)
                    explained = (await connection.exec_driver_sql(explain, parameters)).scalar_one()
                    ms, hot, plan = read_plan(explained)
                    result.statements.append(Statement(f"{statement}\n{parameters}", ms, hot, plan))
                await connection.rollback()
    finally:
        await engine.dispose()
    return found


async def middle_case(url: str, org_id: UUID) -> UUID | None:
    """The key halfway through the organization's cases in export order: where a page deep into an export starts."""
    connection = await asyncpg.connect(url)
    try:
        key: UUID | None = await connection.fetchval(
            "SELECT document_id FROM records WHERE org_id = $1 ORDER BY document_id "
            "OFFSET (SELECT count(*) / 2 FROM records WHERE org_id = $1) LIMIT 1",
            org_id,
        )
    finally:
        await connection.close()
    return key


async def server_settings(url: str, names: Sequence[str]) -> dict[str, str]:
    """PostgreSQL's settings as the measured server runs with them."""
    connection = await asyncpg.connect(url)
    try:
        return {name: str(await connection.fetchval(f"SHOW {name}")) for name in names}
    finally:
        await connection.close()
