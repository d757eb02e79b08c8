"""Analytics at a million cases: `python bench/analytics.py` (`--small` for a quick check that it works).

The data (bench/analytics_data.py has the details): an organization with 1,000,000 cases opened over a year (12
business units, 24 agents, labels, first responses, resolutions, SLA due times, daily import batches, planted
trends) and 1,000,000 searches in its search log; a second organization with a twentieth of each, so that every
question is also one of scoping. Accounts, units and the member limited to units are made through the API; the
rows are written with COPY. Everything lives in one embedded PostgreSQL under `data/bench-analytics/` and is
reused by the next run: it is made again with `--regenerate`, or by itself when the migrations or the generator
changed (their fingerprint is kept beside the data). Periods are those of the data: they end when it was made.

Latency. One `folio serve` (one uvicorn worker, jobs in the API process) pinned to CPU 1, the embedded PostgreSQL
unpinned, this script and wrk on CPU 0. Uncached: a server with the answer cache off
(`FOLIO_ANALYTICS__CACHE_SECONDS=0`), each question asked once to warm up, then up to `--requests` times in a row
(at most `--budget` seconds, at least 10 times) on one connection; every answer must say `X-Cache: miss`. The CPU
time the server process and PostgreSQL (the postmaster and all its backends) spent over those requests, from /proc,
per request: what a question costs whatever else the machine runs, which the latencies of a shared machine do not
tell. Cached:
a server with the cache on, each question asked once (a miss), then repeated by wrk on one keep-alive connection
for `--seconds` after 2 s of warm-up; an answer after the run must say `X-Cache: hit`. SQL: the statements the same
service call runs, in-process, each under EXPLAIN ANALYZE (after one run to warm the pages), summed; the hot spot is
the plan node of the slowest statement with the most time of its own (`--plans FILE` for the whole plans).

Export. `GET /api/v1/exports/cases?format=csv` of all the organization's cases as its owner, streamed and counted
(one line per case: the generated texts hold no line break), after a small export to warm up; rows/s over the
whole response, the CPU time of the server and of PostgreSQL over it, and the server process's RSS sampled every
20 ms from /proc with its VmHWM (reset before) as a check: growth = peak − RSS just before.

An endpoint the running code does not serve yet is reported as such, and the rest is measured. Prints the tables
and records them in bench/RESULTS.md (`--no-record` to print only). Needs `wrk` (Debian's package).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from uuid import UUID
from zoneinfo import ZoneInfo

import httpx

sys.path.insert(0, str(Path(__file__).parent))
import analytics_data
import analytics_sql
import wrk
from cases import PASSWORD, Account, admin, checked, cpu_seconds, database_url, postgres_cpu, register, say
from folio.embedded_postgres import EmbeddedPostgres
from results import ROOT, folio_server, machine, memory, record, reset_peak

SECTION = "## Analytics"
SERVER_CPU, CLIENT_CPU = 1, 0
DATABASE = "analytics"
UNCACHED_GOAL_MS, CACHED_GOAL_MS = 500.0, 20.0
EXPORT_GOAL_ROWS, EXPORT_GOAL_MIB = 50_000, 50
MIB = 1024 * 1024
SERVER_SETTINGS = {
    "FOLIO_AUTH__ACCESS_TOKEN_MINUTES": "1440",
    "FOLIO_LOG__LEVEL": "WARNING",
    # The weekly digest would compute its figures for both organizations during the measurements.
    "FOLIO_ANALYTICS__PULSE_DAYS": "0",
}
# What decides whether kept data is still good: the generator and the schema it was written for.
FINGERPRINTED = (
    Path(__file__).parent / "analytics_data.py",
    Path(__file__).parent / "records.py",
    *sorted((ROOT / "src" / "folio" / "migrations" / "versions").glob("*.py")),
)
# Those that decide how an analytics question runs: memory for sorts and hashes, parallel workers.
POSTGRES_SETTINGS = ("shared_buffers", "work_mem", "max_parallel_workers_per_gather")
MEMBER_UNITS = (2, 5)  # the limited member's units, by index: middle-sized ones


# The data: made once, kept.


def fingerprint(args: argparse.Namespace) -> str:
    digest = hashlib.sha256(f"{args.cases}/{args.searches}".encode())
    for path in FINGERPRINTED:
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()


def server_settings(url: str, **extra: str) -> dict[str, str]:
    return {**SERVER_SETTINGS, "FOLIO_DATABASE_URL": url, **extra}


def build_accounts(client: httpx.Client) -> dict[str, Any]:
    """Both organizations' owners and units, and the member of organization A limited to two of its units."""

    def organization(email: str, name: str, units: int) -> tuple[Account, UUID, list[UUID]]:
        owner = register(client, email, name)
        me = checked(client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {owner.token}"}), 200)
        org_id = UUID(me["org"]["id"])
        headers = owner.headers(org_id)
        unit_ids = [
            UUID(checked(client.post("/api/v1/units", json={"name": unit}, headers=headers), 201)["id"])
            for unit in analytics_data.UNIT_NAMES[:units]
        ]
        return owner, org_id, unit_ids

    owner, org_id, unit_ids = organization("owner@example.com", "Owner", 12)
    other, other_org, other_units = organization("owner-b@example.com", "Other Owner", 4)
    member = register(client, "analyst@example.com", "Analyst")
    invited = checked(
        client.post(
            f"/api/v1/orgs/{org_id}/invitations",
            json={"email": member.email, "role": "editor"},
            headers=owner.headers(org_id),
        ),
        202,
    )
    checked(
        client.post(f"/api/v1/invitations/{invited['id']}/accept", headers={"Authorization": f"Bearer {member.token}"}),
        200,
    )
    member_units = [unit_ids[index] for index in MEMBER_UNITS]
    checked(
        client.put(
            f"/api/v1/members/{member.user_id}/units",
            json={"unit_ids": [str(unit) for unit in member_units]},
            headers=owner.headers(org_id),
        ),
        200,
    )
    return {
        "org_id": str(org_id),
        "owner": {"id": str(owner.user_id), "email": owner.email},
        "unit_ids": [str(unit) for unit in unit_ids],
        "member": {"id": str(member.user_id), "email": member.email, "units": [str(unit) for unit in member_units]},
        "other_org_id": str(other_org),
        "other_owner": {"id": str(other.user_id), "email": other.email},
        "other_unit_ids": [str(unit) for unit in other_units],
    }


def generate(args: argparse.Namespace, server_url: str, state_file: Path) -> dict[str, Any]:
    state_file.unlink(missing_ok=True)
    url = database_url(server_url, DATABASE)
    asyncio.run(admin(server_url, f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)", f"CREATE DATABASE {DATABASE}"))
    started = time.perf_counter()
    say("generating: the schema, accounts and units through the API")
    with (
        folio_server(state_file.parent / "seed-server", server_settings(url)) as (_, base),
        httpx.Client(base_url=base, timeout=600) as client,
    ):
        accounts = build_accounts(client)
    now = datetime.now(UTC).replace(microsecond=0)
    tenants = [
        analytics_data.Tenant(
            UUID(accounts["org_id"]),
            UUID(accounts["owner"]["id"]),
            [UUID(unit) for unit in accounts["unit_ids"]],
            [UUID(accounts["owner"]["id"]), UUID(accounts["member"]["id"])],
            args.cases,
            args.searches,
            seed=1,
        ),
        analytics_data.Tenant(
            UUID(accounts["other_org_id"]),
            UUID(accounts["other_owner"]["id"]),
            [UUID(unit) for unit in accounts["other_unit_ids"]],
            [UUID(accounts["other_owner"]["id"])],
            args.cases // 20,
            args.searches // 20,
            seed=2,
        ),
    ]
    agents = asyncio.run(analytics_data.add_agents(url, tenants))
    loaded = asyncio.run(analytics_data.load(url, tenants, agents, now))
    state = {
        "fingerprint": fingerprint(args),
        "now": now.isoformat(),
        "generated_at": datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "generation_seconds": time.perf_counter() - started,
        "rows": loaded.rows,
        "seconds": loaded.seconds,
        **accounts,
    }
    state_file.write_text(json.dumps(state, indent=2))
    say(f"generated in {state['generation_seconds']:,.0f} s: {loaded.rows}")
    return state


def ensure_data(args: argparse.Namespace, server_url: str, data_dir: Path) -> dict[str, Any]:
    state_file = data_dir / "state.json"
    state = json.loads(state_file.read_text()) if state_file.exists() else None
    if state is None or args.regenerate:
        reason = "asked to" if args.regenerate else "no data kept"
    elif state["fingerprint"] != fingerprint(args):
        reason = "the migrations or the generator changed since it was made"
    else:
        say(f"reusing the data made {state['generated_at']} ({data_dir})")
        return dict(state)
    say(f"generating the data ({reason}); this takes several minutes")
    return generate(args, server_url, state_file)


# The questions.


@dataclass
class Context:
    state: dict[str, Any]

    @property
    def now(self) -> datetime:
        return datetime.fromisoformat(self.state["now"])

    @property
    def end(self) -> datetime:
        """The end of the data's minute, as `to` defaults to."""
        return self.now.replace(second=0) + timedelta(minutes=1)

    def since(self, days: int) -> dict[str, str]:
        return {"from": _iso(self.end - timedelta(days=days)), "to": _iso(self.end)}

    def principal(self, who: str) -> Any:
        from folio.auth.principal import Principal
        from folio.models import Role

        org_id = UUID(self.state["org_id"])
        if who == "owner":
            return Principal.for_member(org_id=org_id, user_id=UUID(self.state["owner"]["id"]), role=Role.OWNER)
        member = self.state["member"]
        units = frozenset(UUID(unit) for unit in member["units"])
        return Principal.for_member(org_id=org_id, user_id=UUID(member["id"]), role=Role.EDITOR, units=units)

    def period(self, days: int) -> Any:
        from folio.analytics.periods import Period

        return Period(self.end - timedelta(days=days), self.end, ZoneInfo("UTC"))


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Timing:
    count: int
    p50: float
    p95: float
    max: float
    rps: float | None = None
    # CPU per request, milliseconds: what a request costs whatever else the machine runs.
    server_cpu: float | None = None
    database_cpu: float | None = None


@dataclass
class Question:
    name: str
    route: str  # as the OpenAPI document lists it
    params: dict[str, str]
    who: str  # owner | member
    call: analytics_sql.Call | None = None
    note: str = ""
    uncached: Timing | None = None
    cached: Timing | None = None
    profile: analytics_sql.Profile | None = None

    @property
    def path(self) -> str:
        return f"{self.route}?{urlencode(self.params)}" if self.params else self.route


def questions(context: Context) -> list[Question]:
    owner, member = context.principal("owner"), context.principal("member")
    utc = ZoneInfo("UTC")

    def overview(principal: Any, days: int) -> analytics_sql.Call:
        async def call(session: Any) -> Any:
            from folio.analytics import service

            return await service.overview(session, principal=principal, period=context.period(days))

        return call

    async def timeseries(session: Any) -> Any:
        from folio.analytics import service
        from folio.analytics.periods import Interval
        from folio.analytics.series import GroupBy, Metric
        from folio.cases.schemas import CaseQuery

        return await service.timeseries(
            session,
            principal=owner,
            metric=Metric.CASES,
            group_by=GroupBy.CATEGORY,
            query=CaseQuery(),
            period=context.period(90),
            interval=Interval.DAY,
            groups=10,
        )

    def trending(principal: Any) -> analytics_sql.Call:
        async def call(session: Any) -> Any:
            from folio.analytics.trending import service
            from folio.analytics.trending.schemas import TrendKind
            from folio.analytics.trending.windows import windows

            found = windows(days=7, count=4, start=None, to=None, end=context.end, tz=utc)
            return await service.trending(
                session, principal=principal, windows=found, kind=TrendKind.BOTH, min_count=5, limit=20, unit_id=None
            )

        return call

    def forecast(group_by: str | None) -> analytics_sql.Call:
        async def call(session: Any) -> Any:
            from folio.analytics.forecast import service
            from folio.analytics.forecast.schemas import ForecastMetric
            from folio.analytics.series import GroupBy
            from folio.cases.schemas import CaseQuery

            return await service.forecast(
                session,
                principal=owner,
                metric=ForecastMetric.CASES,
                group_by=None if group_by is None else GroupBy(group_by),
                query=CaseQuery(),
                groups=10,
                horizon=14,
                history=120,
                first_day=context.now.date(),
                tz=utc,
            )

        return call

    async def searches(session: Any) -> Any:
        from folio.analytics.searches import service

        return await service.searches(
            session, principal=owner, period=context.period(30), mode=None, source=None, limit=20
        )

    async def pulse(session: Any) -> Any:
        # The figures: the digest is written from them by a model, or templated offline as here.
        from folio.analytics.pulse import service

        return await service.figures(session, principal=owner, period=context.period(7))

    today = context.now.date().isoformat()
    base = "/api/v1/analytics"
    series = {"metric": "cases", "group_by": "category", "groups": "10", "interval": "day"}
    return [
        Question("overview, 30 days", f"{base}/overview", context.since(30), "owner", overview(owner, 30)),
        Question("overview, 365 days", f"{base}/overview", context.since(365), "owner", overview(owner, 365)),
        Question(
            "overview, 30 days, member of 2 units",
            f"{base}/overview",
            context.since(30),
            "member",
            overview(member, 30),
        ),
        Question(
            "time series, 90 days × 10 categories",
            f"{base}/timeseries",
            series | context.since(90),
            "owner",
            timeseries,
        ),
        Question(
            "trending, 7 days vs 4 × 7",
            f"{base}/trending",
            {"window": "7d", "end": _iso(context.end)},
            "owner",
            trending(owner),
        ),  # fmt: skip
        Question(
            "trending, member of 2 units",
            f"{base}/trending",
            {"window": "7d", "end": _iso(context.end)},
            "member",
            trending(member),
        ),  # fmt: skip
        Question(
            "forecast, 14 days from 120",
            f"{base}/forecast",
            {"to": today, "horizon": "14", "history": "120"},
            "owner",
            forecast(None),
        ),  # fmt: skip
        Question(
            "forecast × 10 categories",
            f"{base}/forecast",
            {"to": today, "horizon": "14", "history": "120", "group_by": "category", "groups": "10"},
            "owner",
            forecast("category"),
        ),  # fmt: skip
        Question("search analytics, 30 days", f"{base}/searches", context.since(30), "owner", searches),
        Question("pulse, 7 days", f"{base}/pulse", context.since(7), "owner", pulse),
    ]


# Measuring.


@dataclass(frozen=True, slots=True)
class Server:
    client: httpx.Client
    base: str
    pid: int
    pgdata: Path
    routes: frozenset[str]
    headers: dict[str, dict[str, str]]

    def cpu(self) -> tuple[float, float]:
        """CPU seconds so far of the server process and of PostgreSQL."""
        return cpu_seconds(self.pid), postgres_cpu(self.pgdata)

    def cpu_since(self, before: tuple[float, float]) -> tuple[float, float]:
        server, database = self.cpu()
        return server - before[0], database - before[1]


@contextmanager
def serving(data_dir: Path, url: str, state: dict[str, Any], *, cache: bool, pin: bool) -> Iterator[Server]:
    extra = {} if cache else {"FOLIO_ANALYTICS__CACHE_SECONDS": "0"}
    with (
        folio_server(data_dir / "server", server_settings(url, **extra), cpu=SERVER_CPU if pin else None) as (
            pid,
            base,
        ),
        httpx.Client(base_url=base, timeout=600) as client,
    ):
        routes = frozenset(checked(client.get("/openapi.json"), 200)["paths"])
        org_id = state["org_id"]
        headers = {}
        for who in ("owner", "member"):
            body = checked(
                client.post("/api/v1/auth/login", json={"email": state[who]["email"], "password": PASSWORD}), 200
            )
            headers[who] = {"Authorization": f"Bearer {body['access_token']}", "X-Org-Id": org_id}
        yield Server(client, base, pid, data_dir / "postgres", routes, headers)


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered) + 0.5) - 1))]


def measure_uncached(server: Server, question: Question, args: argparse.Namespace) -> None:
    if question.route not in server.routes:
        question.note = "not served by this code yet"
        return
    headers = server.headers[question.who]
    first = server.client.get(question.path, headers=headers)
    if first.status_code != 200:
        question.note = f"answered {first.status_code}: {first.text[:200]}"
        return
    spent: list[float] = []
    deadline = time.perf_counter() + args.budget
    cpu = server.cpu()
    while len(spent) < args.requests and (len(spent) < 10 or time.perf_counter() < deadline):
        started = time.perf_counter()
        response = server.client.get(question.path, headers=headers)
        spent.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"{question.name}: {response.status_code} {response.text[:500]}")
        if response.headers.get("x-cache", "miss") != "miss":
            raise SystemExit(f"{question.name}: X-Cache {response.headers['x-cache']} with the cache off")
    server_used, database_used = server.cpu_since(cpu)
    question.uncached = Timing(
        len(spent),
        statistics.median(spent),
        _percentile(spent, 0.95),
        max(spent),
        server_cpu=server_used * 1000 / len(spent),
        database_cpu=database_used * 1000 / len(spent),
    )
    say(f"  {question.name}: uncached p50 {question.uncached.p50:,.1f} ms, p95 {question.uncached.p95:,.1f} ms "
        f"({len(spent)} requests)")  # fmt: skip


def measure_cached(server: Server, question: Question, args: argparse.Namespace) -> None:
    if question.route not in server.routes or question.uncached is None:
        return
    headers = server.headers[question.who]
    checked(server.client.get(question.path, headers=headers), 200)
    url = server.base + question.path
    wrk.measure(url, headers, connections=1, seconds=2)
    result = wrk.measure(url, headers, connections=1, seconds=args.seconds)
    after = server.client.get(question.path, headers=headers)
    if result.non_2xx or result.socket_errors:
        raise SystemExit(f"{question.name}: {result.non_2xx} non-2xx, {result.socket_errors} errors under wrk")
    if after.headers.get("x-cache") != "hit":
        question.note = f"cached answer not kept (X-Cache {after.headers.get('x-cache')})"
    question.cached = Timing(result.requests, result.p50, result.p95, result.max, result.rps)
    say(f"  {question.name}: cached p50 {result.p50:,.2f} ms, p95 {result.p95:,.2f} ms ({result.requests:,} requests)")


@dataclass
class Export:
    note: str = ""
    profile: analytics_sql.Profile | None = None
    rows: int = 0
    bytes: int = 0
    seconds: float = 0.0
    first_byte: float = 0.0
    rss_before: int = 0
    rss_peak: int = 0
    hwm: int = 0
    server_cpu: float = 0.0  # seconds
    database_cpu: float = 0.0

    @property
    def rate(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0

    @property
    def growth(self) -> int:
        return max(self.rss_peak, self.hwm) - self.rss_before


EXPORT_ROUTE = "/api/v1/exports/cases"
EXPORT_PAGE = "export page"


def export_page(context: Context, after: UUID) -> analytics_sql.Call:
    """What the export reads per page, for a page from the middle of the cases."""

    async def call(session: Any) -> Any:
        from folio.exports import service, sources
        from folio.exports.schemas import CaseExportFilters
        from folio.models import ExportFormat, ExportSource
        from folio.settings import Settings

        reader = await sources.reader_for(
            session,
            principal=context.principal("owner"),
            source=ExportSource.CASES,
            filters=CaseExportFilters(),
            shape=service.shape_of(ExportFormat.CSV),
            searching=None,
        )
        return await reader.page(session, after, service.bounds_of(Settings(_env_file=None).exports))

    return call


def stream(server: Server, params: dict[str, str], *, watch: bool) -> Export:
    found = Export()
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            found.rss_peak = max(found.rss_peak, memory(server.pid, "VmRSS"))
            done.wait(0.02)

    found.rss_before = memory(server.pid, "VmRSS")
    reset_peak(server.pid)
    sampler = threading.Thread(target=sample, daemon=True)
    if watch:
        sampler.start()
    started = time.perf_counter()
    cpu = server.cpu()
    lines = 0
    try:
        with server.client.stream(
            "GET", f"{EXPORT_ROUTE}?{urlencode(params)}", headers=server.headers["owner"], timeout=1800
        ) as response:
            if response.status_code != 200:
                found.note = f"answered {response.status_code}: {response.read()[:300]!r}"
                return found
            for piece in response.iter_raw():
                if not found.bytes:
                    found.first_byte = time.perf_counter() - started
                found.bytes += len(piece)
                lines += piece.count(b"\n")
    finally:
        found.seconds = time.perf_counter() - started
        found.server_cpu, found.database_cpu = server.cpu_since(cpu)
        done.set()
        if watch:
            sampler.join()
        found.hwm = memory(server.pid, "VmHWM")
    found.rows = max(lines - 1, 0)
    return found


def measure_export(server: Server, expected: int) -> Export:
    if EXPORT_ROUTE not in server.routes:
        return Export(note="not served by this code yet")
    warm = stream(server, {"format": "csv", "status": "waiting"}, watch=False)
    if warm.note:
        return warm
    say("  export: all cases as CSV")
    found = stream(server, {"format": "csv"}, watch=True)
    if not found.note and found.rows != expected:
        found.note = f"{found.rows:,} rows, expected {expected:,}"
    if not found.note:
        say(f"  export: {found.rows:,} rows in {found.seconds:,.1f} s ({found.rate:,.0f}/s), RSS growth "
            f"{found.growth / MIB:,.1f} MiB")  # fmt: skip
    return found


# The report.


def verdict(met: bool) -> str:
    return "met" if met else "**not met**"


def load_note() -> str:
    return "load average " + ", ".join(f"{value:.1f}" for value in os.getloadavg())


def render(
    args: argparse.Namespace,
    state: dict[str, Any],
    measured: list[Question],
    export: Export,
    loads: tuple[str, str],
    commit: str,
    postgres: dict[str, str],
) -> str:
    rows = state["rows"]
    generated = (
        f"made {state['generated_at']} in {state['generation_seconds'] / 60:,.1f} min ("
        + ", ".join(f"{name} {seconds:,.0f} s" for name, seconds in state["seconds"].items())
        + ")"
    )
    lines = [
        SECTION,
        "",
        f"`{args.command}` — {datetime.now().astimezone():%Y-%m-%d %H:%M %Z}, commit {commit}; {machine()}; "
        f"`nproc` {os.cpu_count()}; {loads[0]} at the start, {loads[1]} at the end (the machine is shared). One "
        f"`folio serve` (one uvicorn worker) pinned to CPU {SERVER_CPU}, the embedded PostgreSQL (its defaults: "
        + ", ".join(f"{name} {value}" for name, value in postgres.items())
        + f") unpinned, the client and wrk on CPU {CLIENT_CPU}. How the "
        "data is made and how each figure is measured: the docstrings of bench/analytics.py and "
        "bench/analytics_data.py.",
        "",
        f"Data: {rows['cases']:,} cases and {rows['searches']:,} searches over 365 days in two organizations "
        f"({args.cases:,} and {args.searches:,} in the measured one)"
        + "".join(
            f", {rows[table]:,} rows of `{table}`" for table in ("case_terms", "case_unit_terms") if table in rows
        )
        + f"; {generated}.",
        "",
        f"Uncached: up to {args.requests} requests in a row (at most {args.budget:g} s, at least 10) on a server with "
        f"the answer cache off; cached: wrk, one connection, {args.seconds:g} s. SQL ms: the question's statements "
        "under EXPLAIN ANALYZE, summed; hot spot: the plan node with the most time of its own in the slowest "
        "statement.",
        "",
        "| question | uncached n | p50 ms | p95 ms | goal < 500 ms | CPU ms server + PostgreSQL | cached p50 ms "
        "| p95 ms | req/s | goal < 20 ms | SQL ms | slowest statement: hot spot |",
        "|---|---:|---:|---:|---|---:|---:|---:|---:|---|---:|---|",
    ]
    for question in measured:
        uncached, cached, profile = question.uncached, question.cached, question.profile
        if uncached is None:
            lines.append(f"| {question.name} | | | | {question.note} | | | | | | | |")
            continue
        sql = hot = ""
        if profile is not None and profile.error:
            hot = f"not profiled: {profile.error}"
        elif profile is not None and profile.slowest is not None:
            slowest = profile.slowest
            sql = f"{profile.sql_ms:,.1f}"
            hot = f"{slowest.ms:,.1f} ms: {slowest.hot.label}, own {slowest.hot.own_ms:,.1f} ms"
        cached_cells = "| | | | "
        if cached is not None:
            cached_cells = (
                f"| {cached.p50:,.2f} | {cached.p95:,.2f} | {cached.rps or 0:,.0f} | "
                f"{verdict(cached.p95 < CACHED_GOAL_MS)}{' — ' + question.note if question.note else ''} "
            )
        lines.append(
            f"| {question.name} | {uncached.count} | {uncached.p50:,.1f} | {uncached.p95:,.1f} | "
            f"{verdict(uncached.p95 < UNCACHED_GOAL_MS)} | {uncached.server_cpu or 0:,.0f} + "
            f"{uncached.database_cpu or 0:,.0f} {cached_cells}| {sql} | {hot} |"
        )
    lines += ["", render_export(export, args.cases)]
    return "\n".join(lines) + "\n"


def render_export(export: Export, cases: int) -> str:
    if export.note:
        return f"Export (`GET {EXPORT_ROUTE}?format=csv`, {cases:,} cases): {export.note}."
    return (
        f"Export: `GET {EXPORT_ROUTE}?format=csv` of all {export.rows:,} cases as the owner, "
        f"{export.bytes / MIB:,.0f} MiB in {export.seconds:,.1f} s (first byte after {export.first_byte:,.2f} s): "
        f"**{export.rate:,.0f} rows/s** (goal ≥ {EXPORT_GOAL_ROWS:,}: {verdict(export.rate >= EXPORT_GOAL_ROWS)}); "
        f"server RSS {export.rss_before / MIB:,.0f} MiB before, peak {export.rss_peak / MIB:,.0f} MiB sampled, "
        f"VmHWM {export.hwm / MIB:,.0f} MiB: **growth {export.growth / MIB:,.1f} MiB** (goal < {EXPORT_GOAL_MIB} MiB: "
        f"{verdict(export.growth < EXPORT_GOAL_MIB * MIB)}). CPU: the server {export.server_cpu:,.1f} s, PostgreSQL "
        f"{export.database_cpu:,.1f} s ({export.rows / max(export.server_cpu, export.database_cpu, 1e-9):,.0f} rows "
        "per CPU second of the busier one: the rate with a core each and nothing else running)." + _page(export.profile)
    )


def _page(profile: analytics_sql.Profile | None) -> str:
    if profile is None:
        return ""
    if profile.error:
        return f" A page's SQL: not profiled ({profile.error})."
    slowest = profile.slowest
    if slowest is None:
        return ""
    return (
        f" A page from the middle of the cases: {profile.sql_ms:,.1f} ms of SQL; its hot spot {slowest.hot.label}, "
        f"own {slowest.hot.own_ms:,.1f} ms."
    )


def write_plans(path: Path, profiles: dict[str, analytics_sql.Profile | None]) -> None:
    with path.open("w") as file:
        for name, profile in profiles.items():
            if profile is None:
                continue
            file.write(f"## {name}\n\n")
            if profile.error:
                file.write(f"not profiled: {profile.error}\n\n")
            for statement in profile.statements:
                file.write(f"{statement.sql}\n-- {statement.ms:,.1f} ms\n{statement.plan}\n\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", action="store_true", help="50,000 cases and searches, fewer requests")
    parser.add_argument("--cases", type=int, help="cases of the measured organization (default 1,000,000)")
    parser.add_argument("--searches", type=int, help="its searches (default 1,000,000)")
    parser.add_argument("--data-dir", type=Path, help="where the data is kept (default data/bench-analytics)")
    parser.add_argument("--regenerate", action="store_true", help="make the data again")
    parser.add_argument("--requests", type=int, help="uncached requests per question (default 40)")
    parser.add_argument("--budget", type=float, help="seconds of uncached requests per question (default 25)")
    parser.add_argument("--seconds", type=float, help="wrk seconds per cached question (default 8)")
    parser.add_argument("--plans", type=Path, help="write the EXPLAIN ANALYZE plans here (default: in the data dir)")
    parser.add_argument("--no-pin", action="store_true")
    parser.add_argument("--no-record", action="store_true", help="print only; leave RESULTS.md alone")
    args = parser.parse_args()
    small = args.small
    args.cases = args.cases or (50_000 if small else 1_000_000)
    args.searches = args.searches or (50_000 if small else 1_000_000)
    args.requests = args.requests or (15 if small else 40)
    args.budget = args.budget or (10 if small else 25)
    args.seconds = args.seconds or (3 if small else 8)
    args.command = "python bench/analytics.py" + (" --small" if small else "")
    args.pin = not args.no_pin and (os.cpu_count() or 1) >= 2
    data_dir = args.data_dir or ROOT / "data" / ("bench-analytics-small" if small else "bench-analytics")
    plans = args.plans or data_dir / "plans.txt"
    wrk.install()
    loads = (load_note(), "")
    git = shutil.which("git")
    commit = "?"
    if git is not None:
        found = subprocess.run(
            [git, "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
        )
        commit = found.stdout.strip() or "?"

    # PostgreSQL starts before this process is pinned, so that it keeps both cores.
    database = EmbeddedPostgres(data_dir / "postgres")
    try:
        state = ensure_data(args, database.url, data_dir)
        url = database_url(database.url, DATABASE)
        postgres = asyncio.run(analytics_sql.server_settings(url, POSTGRES_SETTINGS))
        if args.pin:
            os.sched_setaffinity(0, {CLIENT_CPU})
        context = Context(state)
        measured = questions(context)
        loads = (load_note(), "")
        say("uncached: a server with the answer cache off")
        with serving(data_dir, url, state, cache=False, pin=args.pin) as server:
            for question in measured:
                measure_uncached(server, question, args)
            export = measure_export(server, args.cases)
        say("cached: a server with the answer cache on")
        with serving(data_dir, url, state, cache=True, pin=args.pin) as server:
            for question in measured:
                measure_cached(server, question, args)
        say("SQL: EXPLAIN ANALYZE of each question's statements")
        calls = {question.name: question.call for question in measured if question.uncached is not None}
        middle = asyncio.run(analytics_sql.middle_case(url, UUID(state["org_id"])))
        if not export.note and middle is not None:
            calls[EXPORT_PAGE] = export_page(context, middle)
        profiles = asyncio.run(analytics_sql.profile(url, calls))
        for question in measured:
            question.profile = profiles.get(question.name)
        export.profile = profiles.get(EXPORT_PAGE)
        write_plans(plans, {**{question.name: question.profile for question in measured}, EXPORT_PAGE: export.profile})
        loads = (loads[0], load_note())
    finally:
        database.release()

    table = render(args, state, measured, export, loads, commit, postgres)
    print(table)
    say(f"plans: {plans}")
    if not args.no_record:
        record(SECTION, table)


if __name__ == "__main__":
    main()
