"""Cases at scale: `python bench/cases.py` (`--small` for a quick run that checks it works).

The organization: an owner, 20 business units, 20 editors each limited to two units (the measured member, agent 0,
sees units 0 and 1), 4 supervisors limited to five units each, and an editor limited to a 21st unit with no cases
(the feed's worst case: few events they may read), all made through the API (registration, invitation,
acceptance, `PUT /members/{id}/units`). Its 100,000 cases:

- 2,000 imported for real (`POST /api/v1/cases/batches`, indexed and enriched by the offline engine);
- 98,000 cloned from them in SQL (`bench/cases_data.py`): each copies a real case's document, text and triage
  enrichment, in a unit, status and priority of its own, created over the last 90 days. Through the API they would
  take ~35 min at the measured 48 cases/s (embedding bound, `## Records`); `enrich=false` saves only the offline
  labels, not the embeddings, and the list filters need the labels. The clones have no chunks: no measurement
  here searches them (search rules and term spikes look at the new batch's chunks);
- their history: ~1.9 `case.updated` events per case over the last 29 days, written in SQL as the outbox stores
  them; then, through the API, bulk assignments (`POST /cases/bulk`, 100 cases a request) of up to 1,000 open cases
  of each agent's first unit, round-robin over the agents, which adds a `case.updated` event and a `case_assigned`
  notification per case: every inbox holds up to its cap of 1,000.

The clones' ids are UUIDv7 of their creation time, and everything written in SQL is then VACUUM ANALYZEd, as
autovacuum would have done on a server that grew this way.

Alert overhead. The seeded database is the template of a fresh copy per run (`CREATE DATABASE … TEMPLATE`), each
served by a fresh `folio serve` (one uvicorn worker, jobs in the API process, offline enrichment) pinned to one
core; a 20-row warm-up batch loads the models, then with 0 or 50 active rules (18 saved searches, 22 conditions,
10 spike detectors: `cases_data.alert_rules`) the same 10,000-case file is uploaded. Index + enrich = the batch's
`finished_at` − `imported_at` (server timestamps), as in `## Records`; runs alternate without and with rules. The
evaluation's own cost is also timed in-process on each run's database after the run, in one transaction rolled
back: the run's alerts deleted, then `evaluate_indexed` and `evaluate_enriched` over the batch in the jobs' steps
of 64 (raising, announcing and notifying as the run did), then one periodic evaluation (spikes, SLA). CPU time
(the API process and PostgreSQL's, from /proc) is summed from the upload to the batch's end: it is what the
rules add, and the other load of a shared machine disturbs it less than the wall time.

Latency. On the seeded database (100,000 cases), before the alert runs, requests as the measured member (and the
quiet unit's), timed by `wrk` (one thread, pinned to the other core, 1 then 4 keep-alive connections, after a
warm-up): `GET /cases` with three filters, the first pages of `/feed` and `/inbox`, and `/auth/me` for the cost of
any authenticated request. SQL ms: the statements the same service call runs, each under EXPLAIN ANALYZE,
in-process (`--plans FILE` writes the plans). Needs `wrk` (Debian's package).

Prints the tables and records them in bench/RESULTS.md (`--no-record` to print only).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from uuid import UUID

import asyncpg  # type: ignore[import-untyped]
import httpx

sys.path.insert(0, str(Path(__file__).parent))
import cases_data
import cases_sql
import wrk
from folio.embedded_postgres import EmbeddedPostgres
from results import folio_server, machine, record

SECTION = "## Cases"
SERVER_CPU, CLIENT_CPU = 1, 0
PASSWORD = "benchmark passphrase 2026"
SEED_DATABASE = "cases_seed"
TICKS = os.sysconf("SC_CLK_TCK")
TERMINAL = frozenset({"succeeded", "failed", "cancelled"})
STALL_SECONDS = 600
OVERHEAD_GOAL = 0.10
CASES_GOAL_MS, PAGE_GOAL_MS = 100.0, 50.0
# Tokens outlive the run; rate limits are folio_server's (out of reach).
SERVER_SETTINGS = {"FOLIO_AUTH__ACCESS_TOKEN_MINUTES": "1440", "FOLIO_LOG__LEVEL": "WARNING"}


def say(text: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {text}", file=sys.stderr, flush=True)


# Accounts and the organization, through the API.


@dataclass(frozen=True, slots=True)
class Account:
    user_id: UUID
    email: str
    token: str

    def headers(self, org_id: UUID) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "X-Org-Id": str(org_id)}


@dataclass
class Organization:
    org_id: UUID
    owner: Account
    unit_ids: list[UUID]
    agents: list[Account]  # editors; agent i sees units i and i + 1
    supervisors: list[Account]
    # An editor limited to a unit of its own with no cases: the feed's worst case (nothing of theirs is recent).
    quiet: Account
    quiet_unit: UUID
    agent_units: dict[UUID, list[UUID]] = field(default_factory=dict)

    @property
    def reader(self) -> Account:
        return self.agents[0]

    def as_data(self) -> cases_data.Org:
        workers: dict[UUID, list[UUID]] = {unit_id: [] for unit_id in self.unit_ids}
        for user_id, units in self.agent_units.items():
            for unit_id in units:
                workers[unit_id].append(user_id)
        return cases_data.Org(self.org_id, self.owner.user_id, self.unit_ids, workers)


def checked(response: httpx.Response, *statuses: int) -> Any:
    if response.status_code not in statuses:
        raise SystemExit(f"{response.request.method} {response.request.url}: {response.status_code} {response.text}")
    return response.json() if response.content else None


def register(client: httpx.Client, email: str, name: str) -> Account:
    body = checked(client.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD, "name": name}), 201)
    return Account(UUID(body["user"]["id"]), email, body["access_token"])


def build_organization(client: httpx.Client) -> Organization:
    owner = register(client, "owner@example.com", "Owner")
    me = checked(client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {owner.token}"}), 200)
    org_id = UUID(me["org"]["id"])
    headers = owner.headers(org_id)
    unit_ids = [
        UUID(checked(client.post("/api/v1/units", json={"name": name}, headers=headers), 201)["id"])
        for name in (*cases_data.UNIT_NAMES, cases_data.QUIET_UNIT)
    ]
    quiet_unit = unit_ids.pop()
    count = len(unit_ids)
    members = [(f"agent{i}", "editor", [unit_ids[i], unit_ids[(i + 1) % count]]) for i in range(count)]
    members += [(f"supervisor{j}", "supervisor", unit_ids[5 * j : 5 * j + 5]) for j in range(count // 5)]
    members.append(("quiet", "editor", [quiet_unit]))
    accounts = []
    for name, role, units in members:
        member = register(client, f"{name}@example.com", name.title())
        invited = checked(
            client.post(
                f"/api/v1/orgs/{org_id}/invitations", json={"email": member.email, "role": role}, headers=headers
            ),
            202,
        )
        checked(
            client.post(
                f"/api/v1/invitations/{invited['id']}/accept", headers={"Authorization": f"Bearer {member.token}"}
            ),
            200,
        )
        body = {"unit_ids": [str(unit_id) for unit_id in units]}
        checked(client.put(f"/api/v1/members/{member.user_id}/units", json=body, headers=headers), 200)
        accounts.append(member)
    agents, supervisors = accounts[:count], accounts[count:-1]
    organization = Organization(org_id, owner, unit_ids, agents, supervisors, accounts[-1], quiet_unit)
    organization.agent_units = {agent.user_id: units for agent, (_, _, units) in zip(agents, members, strict=False)}
    return organization


# Batches.


def upload(client: httpx.Client, headers: dict[str, str], path: Path) -> dict[str, Any]:
    with path.open("rb") as file:
        response = client.post(
            "/api/v1/cases/batches",
            files={"file": (path.name, file, "text/csv")},
            data={"mapping": json.dumps(cases_data.MAPPING), "enrich": "true"},
            headers=headers,
        )
    batch: dict[str, Any] = checked(response, 202)
    return batch


def follow(client: httpx.Client, headers: dict[str, str], batch: dict[str, Any], log: Path) -> dict[str, Any]:
    """The batch once it and its job are finished."""
    changed = reported = time.time()
    last: tuple[Any, ...] = ()
    while True:
        try:
            found = checked(client.get(f"/api/v1/cases/batches/{batch['id']}", headers=headers), 200)
            job = checked(client.get(f"/api/v1/jobs/{batch['job_id']}", headers=headers), 200)
        except httpx.TransportError as error:
            raise SystemExit(f"the server stopped answering ({error})\n{tail(log)}") from error
        state = (found["status"], found["rows_read"], found["records_indexed"], found["records_enriched"])
        now = time.time()
        if state != last:
            changed, last = now, state
        if now - reported >= 30:
            say(f"  {found['status']}: {found['rows_read']:,} read, {found['records_indexed']:,} indexed, "
                f"{found['records_enriched']:,} enriched")  # fmt: skip
            reported = now
        if found["status"] in TERMINAL and job["status"] in TERMINAL:
            break
        if now - changed > STALL_SECONDS:
            raise SystemExit(f"no progress for {STALL_SECONDS} s: {found}\n{tail(log)}")
        time.sleep(0.5)
    if found["status"] != "succeeded" or found["rows_failed"]:
        raise SystemExit(f"batch {found['status']}, {found['rows_failed']} rows failed: {found}\n{tail(log)}")
    return {**found, "job_started_at": job["started_at"]}


def tail(log: Path) -> str:
    return f"server log tail:\n{log.read_text(errors='replace')[-3000:]}" if log.exists() else "(no server log)"


def moment(value: str) -> float:
    return datetime.fromisoformat(value).timestamp()


# The database: one embedded server, a database per state.


def database_url(base: str, name: str) -> str:
    parts = urlsplit(base)
    return urlunsplit(parts._replace(path=f"/{name}"))


async def admin(url: str, *statements: str) -> None:
    """Statements outside a transaction (CREATE/DROP DATABASE), retried while the last server's connections go."""
    connection = await asyncpg.connect(url)
    try:
        for statement in statements:
            for attempt in range(50):
                try:
                    await connection.execute(statement)
                    break
                except asyncpg.ObjectInUseError:
                    if attempt == 49:
                        raise
                    await asyncio.sleep(0.2)
    finally:
        await connection.close()


@dataclass(frozen=True, slots=True)
class Server:
    client: httpx.Client
    pid: int
    log: Path


@contextmanager
def serving(data_dir: Path, url: str, *, pin: bool) -> Iterator[Server]:
    settings = {**SERVER_SETTINGS, "FOLIO_DATABASE_URL": url}
    with (
        folio_server(data_dir, settings, cpu=SERVER_CPU if pin else None) as (pid, base),
        httpx.Client(base_url=base, timeout=600) as client,
    ):
        yield Server(client, pid, data_dir / "server.log")


def cpu_seconds(pid: int, *, waited: bool = True) -> float:
    """User + system CPU time of the process (all its threads) and, if `waited`, of the children it reaped."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat[stat.rindex(")") + 2 :].split()  # from the state on: utime is [11], cstime [14]
    return sum(int(value) for value in fields[11 : 15 if waited else 13]) / TICKS


def postgres_cpu(pgdata: Path) -> float:
    """CPU time of the PostgreSQL server: the postmaster, the backends it reaped, and those alive."""
    postmaster = int((pgdata / "postmaster.pid").read_text().split()[0])
    total = cpu_seconds(postmaster)
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                stat = Path(entry.path, "stat").read_text()
            except OSError:
                continue
            if int(stat[stat.rindex(")") + 2 :].split()[1]) == postmaster:
                total += cpu_seconds(int(entry.name), waited=False)
    return total


# Seeding.


@dataclass
class Seeded:
    organization: Organization
    seed_batch_seconds: float = 0
    clone_seconds: float = 0
    clones: int = 0
    history_events: int = 0
    history_seconds: float = 0
    bulk_requests: int = 0
    bulk_seconds: list[float] = field(default_factory=list)
    assigned: int = 0


def seed(args: argparse.Namespace, server_url: str, work: Path) -> Seeded:
    url = database_url(server_url, SEED_DATABASE)
    asyncio.run(admin(server_url, f"CREATE DATABASE {SEED_DATABASE}"))
    with serving(work / "seed-server", url, pin=False) as server:
        client, log = server.client, server.log
        say("seeding: the organization, its units and members")
        organization = build_organization(client)
        seeded = Seeded(organization)
        headers = organization.owner.headers(organization.org_id)
        path = work / "seed.csv"
        cases_data.write_batch(path, args.seed_batch, seed=1, prefix="SEED", now=cases_data.now_utc())
        say(f"seeding: {args.seed_batch:,} cases through the API (indexed and enriched)")
        started = time.perf_counter()
        follow(client, headers, upload(client, headers, path), log)
        seeded.seed_batch_seconds = time.perf_counter() - started
        seeded.clones = args.cases - args.seed_batch
        say(f"seeding: {seeded.clones:,} cases cloned in SQL")
        data = organization.as_data()
        seeded.clone_seconds = asyncio.run(cases_data.clone_cases(url, data, seeded.clones, cases_data.now_utc()))
        say("seeding: the cases' history of changes in SQL")
        seeded.history_events, seeded.history_seconds = asyncio.run(
            cases_data.write_history(url, data, cases_data.now_utc())
        )
        say(f"seeding: bulk assignments through the API (up to {args.inbox:,} per agent)")
        requests = []
        for agent in organization.agents:
            unit_id = organization.agent_units[agent.user_id][0]
            case_ids = asyncio.run(cases_sql.open_unassigned(url, organization.org_id, unit_id, args.inbox))
            requests.append(
                [
                    {
                        "ids": [str(case) for case in case_ids[first : first + 100]],
                        "changes": {"assigned_to": str(agent.user_id)},
                    }
                    for first in range(0, len(case_ids), 100)
                ]
            )
            seeded.assigned += len(case_ids)
        # Round-robin over the agents, as a day's work interleaves the units.
        for body in (body for bodies in itertools.zip_longest(*requests) for body in bodies if body is not None):
            started = time.perf_counter()
            checked(client.post("/api/v1/cases/bulk", json=body, headers=headers), 200)
            seeded.bulk_seconds.append(time.perf_counter() - started)
        seeded.bulk_requests = len(seeded.bulk_seconds)
    asyncio.run(cases_sql.analyze(url))
    return seeded


# Latency.


@dataclass
class Endpoint:
    name: str
    path: str
    account: Account
    goal_ms: float | None
    items: int = 0
    sql_ms: float | None = None
    results: list[wrk.Latency] = field(default_factory=list)


def endpoints(organization: Organization) -> list[Endpoint]:
    """In the order of `cases_sql.page_calls`."""
    unit, reader = organization.unit_ids[0], organization.reader
    return [
        Endpoint(
            "GET /cases?unit_id&status=open&severity=high",
            f"/api/v1/cases?unit_id={unit}&status=open&severity=high",
            reader,
            CASES_GOAL_MS,
        ),
        Endpoint(
            "GET /cases?status=open&priority=high&severity=critical",
            "/api/v1/cases?status=open&priority=high&severity=critical",
            reader,
            CASES_GOAL_MS,
        ),
        Endpoint("GET /feed", "/api/v1/feed", reader, PAGE_GOAL_MS),
        Endpoint("GET /feed, member of a quiet unit", "/api/v1/feed", organization.quiet, PAGE_GOAL_MS),
        Endpoint("GET /inbox", "/api/v1/inbox", reader, PAGE_GOAL_MS),
        Endpoint("GET /auth/me (any request's cost)", "/api/v1/auth/me", reader, None),
    ]


def measure_latency(args: argparse.Namespace, server_url: str, seeded: Seeded, work: Path) -> list[Endpoint]:
    organization = seeded.organization
    url = database_url(server_url, SEED_DATABASE)
    measured = endpoints(organization)
    with serving(work / "latency-server", url, pin=args.pin) as server:
        client = server.client
        base = str(client.base_url).rstrip("/")
        for endpoint in measured:
            headers = endpoint.account.headers(organization.org_id)
            body = checked(client.get(endpoint.path, headers=headers), 200)
            endpoint.items = len(body.get("items", [])) if "items" in body else 1
            for connections in args.connections:
                wrk.measure(base + endpoint.path, headers, connections=connections, seconds=args.warmup)
                result = wrk.measure(base + endpoint.path, headers, connections=connections, seconds=args.seconds)
                if result.non_2xx or result.socket_errors:
                    raise SystemExit(f"{endpoint.name}: {result.non_2xx} non-2xx, {result.socket_errors} errors")
                say(f"  {endpoint.name} ×{connections}: {result.rps:,.0f}/s, p50 {result.p50:.1f} ms, "
                    f"p95 {result.p95:.1f} ms, p99 {result.p99:.1f} ms")  # fmt: skip
                endpoint.results.append(result)
    reader, quiet = organization.reader, organization.quiet
    calls = cases_sql.page_calls(
        cases_sql.editor(organization.org_id, reader.user_id, organization.agent_units[reader.user_id]),
        cases_sql.editor(organization.org_id, quiet.user_id, [organization.quiet_unit]),
        organization.unit_ids[0],
    )
    plans = asyncio.run(cases_sql.profile(url, calls))
    args.events = asyncio.run(cases_sql.count(url, "events"))
    for endpoint, (sql_ms, plan) in zip(measured, plans, strict=True):
        endpoint.sql_ms = sql_ms
        if args.plans and plan:
            with args.plans.open("a") as file:
                file.write(f"## {endpoint.name}\n\n{plan}\n\n")
    return measured


# Alert overhead.


@dataclass
class Run:
    rules: int
    batch: dict[str, Any]
    outcome: cases_sql.Outcome
    evaluation: cases_sql.Evaluation | None
    api_cpu: float  # CPU seconds from the upload to the batch's end
    database_cpu: float

    @property
    def import_seconds(self) -> float:
        return moment(self.batch["imported_at"]) - moment(self.batch["job_started_at"])

    @property
    def enrich_seconds(self) -> float:
        return moment(self.batch["finished_at"]) - moment(self.batch["imported_at"])


def alert_run(
    args: argparse.Namespace, server_url: str, seeded: Seeded, work: Path, number: int, rules: int, batch_file: Path
) -> Run:
    name = f"run_{number}"
    url = database_url(server_url, name)
    asyncio.run(admin(server_url, f"CREATE DATABASE {name} TEMPLATE {SEED_DATABASE} STRATEGY FILE_COPY"))
    organization = seeded.organization
    headers = organization.owner.headers(organization.org_id)
    try:
        with serving(work / name, url, pin=args.pin) as server:
            client, log = server.client, server.log
            warm = work / "warm-up.csv"
            cases_data.write_batch(warm, 20, seed=-1, prefix="WARM", now=cases_data.now_utc())
            follow(client, headers, upload(client, headers, warm), log)
            for body in cases_data.alert_rules(organization.unit_ids)[:rules]:
                checked(client.post("/api/v1/alerts/rules", json=body, headers=headers), 201)
            time.sleep(1)
            say(f"run {number}: {rules} rules, uploading {args.batch:,} cases")
            api_cpu, database_cpu = cpu_seconds(server.pid), postgres_cpu(work / "postgres")
            batch = follow(client, headers, upload(client, headers, batch_file), log)
            api_cpu, database_cpu = cpu_seconds(server.pid) - api_cpu, postgres_cpu(work / "postgres") - database_cpu
        outcome = asyncio.run(cases_sql.outcome(url, organization.org_id, batch["id"]))
        evaluation = asyncio.run(cases_sql.evaluate(url, organization.org_id, batch["id"])) if rules else None
    finally:
        if not args.keep:
            asyncio.run(admin(server_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    run = Run(rules, batch, outcome, evaluation, api_cpu, database_cpu)
    say(f"run {number}: index + enrich {run.enrich_seconds:.1f} s, CPU {api_cpu:.1f} + {database_cpu:.1f} s, {outcome}"
        + (f", evaluation in-process {evaluation}" if evaluation else ""))  # fmt: skip
    return run


# The report.


def verdict(met: bool) -> str:
    return "met" if met else "**not met**"


def render(args: argparse.Namespace, seeded: Seeded, runs: list[Run], measured: list[Endpoint]) -> str:
    bulk = sorted(seeded.bulk_seconds)
    lines = [
        SECTION,
        "",
        f"`{args.command}` — {datetime.now().astimezone():%Y-%m-%d %H:%M %Z}; {machine()}; load average "
        f"{os.getloadavg()[0]:.1f} at the end (the machine is shared). One `folio serve` (one uvicorn worker, jobs "
        f"in the API process, offline enrichment) pinned to CPU {SERVER_CPU} for the measurements, the embedded "
        f"PostgreSQL unpinned, wrk pinned to CPU {CLIENT_CPU}. How the organization is built: the script's "
        "docstring.",
        "",
        f"Seeding: {args.seed_batch:,} cases through the API in {seeded.seed_batch_seconds:,.0f} s; "
        f"{seeded.clones:,} cloned in SQL in {seeded.clone_seconds:,.0f} s; {seeded.history_events:,} `case.updated` "
        f"events in SQL in {seeded.history_seconds:,.0f} s; {seeded.assigned:,} cases assigned through "
        f"{seeded.bulk_requests} bulk requests of ≤ 100 (median {statistics.median(bulk) * 1000:,.0f} ms, max "
        f"{bulk[-1] * 1000:,.0f} ms).",
        "",
    ]
    if runs:
        lines += render_alerts(args, runs)
    if measured:
        lines += render_latency(args, measured)
    return "\n".join(lines)


def render_alerts(args: argparse.Namespace, runs: list[Run]) -> list[str]:
    rows = [
        f"| {number} | {run.rules} | {run.import_seconds:,.1f} s | {run.enrich_seconds:,.1f} s | "
        f"{run.batch['records_enriched'] / run.enrich_seconds:,.1f} | {run.api_cpu:,.1f} + {run.database_cpu:,.1f} s "
        f"| {run.outcome.alerts:,} | {run.outcome.matches:,} | {run.outcome.notifications:,} |"
        for number, run in enumerate(runs, 1)
    ]

    def mean(value: Callable[[Run], float], *, rules: bool) -> float:
        return statistics.mean(value(run) for run in runs if bool(run.rules) == rules)

    wall = mean(lambda run: run.enrich_seconds, rules=True) / mean(lambda run: run.enrich_seconds, rules=False) - 1
    cpu_without = mean(lambda run: run.api_cpu + run.database_cpu, rules=False)
    cpu = mean(lambda run: run.api_cpu + run.database_cpu, rules=True) / cpu_without - 1
    evaluations = [run.evaluation for run in runs if run.evaluation is not None]
    direct = statistics.mean(evaluation.batch_seconds for evaluation in evaluations)
    share = direct / mean(lambda run: run.enrich_seconds, rules=False)
    periodic = statistics.mean(evaluation.periodic_seconds for evaluation in evaluations)
    return [
        f"Alert evaluation: the same {args.batch:,}-case file on a fresh copy of the seeded database per run "
        f"({args.cases:,} cases before it), without and with {max(run.rules for run in runs)} active rules, "
        "alternating. CPU: the API process + PostgreSQL, from the upload to the batch's end.",
        "",
        "| run | rules | import | index + enrich | cases/s | CPU API + PostgreSQL | alerts raised | matches | "
        "notifications |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        *rows,
        "",
        f"With the rules, index + enrich took **{wall:+.1%}** wall time and **{cpu:+.1%}** CPU time (means of the "
        f"runs). The evaluation alone, re-run in-process on each run's database ({evaluations[0].steps} steps of "
        f"64 cases, the evaluations after indexing and after enrichment, in one transaction rolled back): "
        f"{direct:,.1f} s, **{share:.1%}** of the index + enrich time without rules. One periodic evaluation "
        f"(10 spike rules and 2 SLA conditions over {args.cases + args.batch:,} cases, every 5 min by default): "
        f"{periodic:,.2f} s.",
        "",
        f"Goal: alert evaluation adds < {OVERHEAD_GOAL:.0%} to index + enrich — judged on CPU time, which the "
        f"shared machine's other load disturbs least: {verdict(cpu < OVERHEAD_GOAL)} ({cpu:+.1%}; wall {wall:+.1%}, "
        f"in-process {share:.1%}).",
        "",
    ]


def render_latency(args: argparse.Namespace, measured: list[Endpoint]) -> list[str]:
    rows = []
    for endpoint in measured:
        for result in endpoint.results:
            goal = ""
            if endpoint.goal_ms is not None:
                goal = f"p95 < {endpoint.goal_ms:.0f} ms — {verdict(result.p95 < endpoint.goal_ms)}"
            sql = f"{endpoint.sql_ms:.1f}" if endpoint.sql_ms is not None else ""
            rows.append(
                f"| {endpoint.name} | {endpoint.items} | {result.connections} | {result.rps:,.0f} | "
                f"{result.p50:.1f} | {result.p95:.1f} | {result.p99:.1f} | {sql} | {goal} |"
            )
    return [
        f"Latency at {args.cases:,} cases and {args.events:,} stored events, first pages (20 items), as an editor "
        "limited to 2 of the 20 units (`unit_id` is one of them); the quiet-unit row as an editor limited to a unit "
        f"of its own with no cases, who may read few of the events. wrk: one thread, {args.seconds:g} s after "
        f"{args.warmup:g} s of warm-up per row; SQL ms: the request's statements under EXPLAIN ANALYZE.",
        "",
        "| request | items | connections | requests/s | p50 ms | p95 ms | p99 ms | SQL ms | goal |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
        *rows,
        "",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", action="store_true", help="4,000 cases, a 400-case batch, one run each")
    parser.add_argument("--cases", type=int, help="cases before the measured batch (default 100,000)")
    parser.add_argument("--batch", type=int, help="cases of the measured batch (default 10,000)")
    parser.add_argument("--seed-batch", type=int, help="cases imported through the API while seeding (2,000)")
    parser.add_argument("--inbox", type=int, help="cases assigned to each agent (1,000: an inbox's cap)")
    parser.add_argument("--repeats", type=int, help="runs without and with rules, each (default 2)")
    parser.add_argument("--connections", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--seconds", type=float, help="wrk seconds per measurement (default 15)")
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument("--skip-alerts", action="store_true", help="latency only (nothing recorded)")
    parser.add_argument("--skip-latency", action="store_true", help="alert overhead only (nothing recorded)")
    parser.add_argument("--plans", type=Path, help="append the EXPLAIN ANALYZE plans to this file")
    parser.add_argument("--keep", type=Path, help="work here and keep it: the databases, for a closer look")
    parser.add_argument("--no-pin", action="store_true")
    parser.add_argument("--no-record", action="store_true", help="print only; leave RESULTS.md alone")
    args = parser.parse_args()
    small = args.small
    args.cases = args.cases or (4_000 if small else 100_000)
    args.batch = args.batch or (400 if small else 10_000)
    args.seed_batch = args.seed_batch or (400 if small else 2_000)
    args.inbox = args.inbox or (100 if small else 1_000)
    args.repeats = args.repeats or (1 if small else 2)
    args.seconds = args.seconds or (5 if small else 15)
    if args.seed_batch >= args.cases:
        parser.error("--seed-batch must be smaller than --cases")
    args.command = "python bench/cases.py" + (" --small" if small else "")
    args.pin = not args.no_pin and (os.cpu_count() or 1) >= 2
    wrk.require()

    work = args.keep or Path(tempfile.mkdtemp(prefix="folio-bench-cases-"))
    if args.keep and any(work.iterdir()):
        parser.error(f"{work} is not empty")
    try:
        # PostgreSQL starts before this process is pinned, so that it keeps both cores.
        database = EmbeddedPostgres(work / "postgres")
        try:
            if args.pin:
                os.sched_setaffinity(0, {CLIENT_CPU})
            seeded = seed(args, database.url, work)
            measured = [] if args.skip_latency else measure_latency(args, database.url, seeded, work)
            runs = []
            if not args.skip_alerts:
                batch_file = work / "batch.csv"
                cases_data.write_batch(batch_file, args.batch, seed=2, prefix="RUN", now=cases_data.now_utc())
                order = [0, 50] * args.repeats
                runs = [
                    alert_run(args, database.url, seeded, work, number, rules, batch_file)
                    for number, rules in enumerate(order, 1)
                ]
        finally:
            database.release()
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    table = render(args, seeded, runs, measured)
    print(table)
    if not (args.no_record or args.skip_alerts or args.skip_latency):
        record(SECTION, table)


if __name__ == "__main__":
    main()
