"""Record import and enrichment throughput and memory: `python bench/records.py` (`--rows`, default 100,000).

Writes a CSV of customer messages to disk a row at a time (ticket_id, created_at, channel, customer, business_unit,
message: 8-60 words from templates × products × problems × tones × details, some with quoted commas and line
breaks, seeded), starts a real `folio serve` (embedded PostgreSQL, jobs inside the API process, no language model:
offline enrichment) pinned to one core, warms it up with a tiny batch, then uploads the file in one streamed
request to POST /api/v1/cases/batches and polls the batch and its job every 0.5 s until both are done. Rates come
from the server's own timestamps: import = rows read ÷ (batch `imported_at` − job `started_at`), index + enrich =
records enriched ÷ (`finished_at` − `imported_at`). The API process's RSS (with its children, PostgreSQL's
excepted) is sampled from /proc every 50 ms and split into those two phases. The same run on a file a tenth the
size, on its own fresh server, goes first: the two peaks side by side show whether memory grows with the file.
Prints a table and records it in bench/RESULTS.md (`--skip-record` to print only).
"""

from __future__ import annotations

import argparse
import bisect
import csv
import json
import os
import random
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from results import descendants, folio_server, machine, memory, record, reset_peak

SECTION = "## Records"
SERVER_CPU, CLIENT_CPU = 1, 0
MIB = 1024 * 1024
SAMPLE_SECONDS = 0.05
POLL_SECONDS = 0.5
# No visible progress for this long means the server is stuck: better a report than a benchmark that never ends.
STALL_SECONDS = 600
FLAT_MIB = 50
IMPORT_GOAL = 2_000
TERMINAL = frozenset({"succeeded", "failed", "cancelled"})
MAPPING = {
    "text": "message",
    "external_id": "ticket_id",
    "created_at": "created_at",
    "channel": "channel",
    "customer": "customer",
    "business_unit": "business_unit",
}

# The messages.

PRODUCTS = (
    "mobile app", "web dashboard", "Pro subscription", "family plan", "smart thermostat", "X200 router",
    "wireless earbuds", "invoice portal", "loyalty card", "checkout page", "delivery tracking", "online banking app",
    "prepaid SIM", "WM-7 washing machine", "premium support plan", "gift voucher", "password reset page",
)  # fmt: skip
PROBLEMS = (
    "keeps crashing when I open it", "will not sync with my other devices", "shows the wrong balance",
    "arrived damaged and scratched", "charged me twice this month", "stopped working after the update",
    "is extremely slow in the evenings", "logs me out every few minutes", "never arrived although it says delivered",
    "rejects my card every single time", "lost all my saved settings", "does not accept the discount code",
    "sends me notifications in the middle of the night", "has been offline for hours", "cannot be cancelled online",
)  # fmt: skip
WHEN = (
    "since Monday", "since the last update", "for two weeks now", "since yesterday evening", "again today",
    "for the third time this month", "since I moved house", "right after I renewed",
)  # fmt: skip
TEMPLATES = (
    "My {product} {problem} {when}.",
    "The {product} {problem} {when}, and I need it for work.",
    "I want to report that the {product} {problem} {when}.",
    "Since we switched to the {product} it {problem}, {when} in fact.",
    "Your {product} {problem} {when}, which is not what I paid for.",
    "Quick question: why is it that the {product} {problem}?",
    "Our whole team uses the {product} and it {problem} {when}.",
)
# Openers and closers by tone; an empty one means none.
TONES = {
    "angry": (
        ("This is unacceptable.", "I am really fed up with this.", "Third time I am writing, seriously."),
        ("Fix it or I will cancel my contract.", "I expect a refund, not another template answer.", ""),
    ),
    "polite": (
        ("Hello, I hope you can help me.", "Good morning,", "Dear support team,"),
        ("Thank you in advance for your help.", "Kind regards, and thanks for looking into it.", "Many thanks!"),
    ),
    "neutral": (("Hi,", "Hello,", ""), ("Please advise.", "Let me know what information you need.", "")),
    "urgent": (
        ("URGENT:", "Please help asap!", "We have an outage right now."),
        ("Please call me back today, it is blocking our work.", "This must be fixed before tomorrow morning.", ""),
    ),
    "happy": (
        ("Love the product overall, but", "Great service so far, just one small issue.", ""),
        ("Otherwise, keep up the good work!", "Thanks, you have been great before.", ""),
    ),
}
DETAILS = (
    "Order number {order}.",
    "My account is registered under {email}.",
    "I already tried restarting it, reinstalling it, and clearing the cache.",
    "It happened {n} times today.",
    'The error says "code {code}: request failed, try again later".',
    "I called on {date}, and again on {date2}, but nobody got back to me.",
    "Steps:\n1. open the {product}\n2. log in\n3. it fails",
    "Screenshot attached.",
    "My neighbour has the same problem with the {product}, by the way.",
    "I paid {amount} EUR for this, which is a lot.",
    "Reference: {code}-{order}.",
    "P.S. the chat bot was useless.\nPlease send a human.",
    "We have {n} users affected in the {team} team, so it is not just me.",
)
TEAMS = ("finance", "sales", "warehouse", "legal", "support", "design")
CHANNELS = (("email", 40), ("chat", 25), ("phone", 15), ("web form", 10), ("app review", 6), ("social media", 4))
BUSINESS_UNITS = ("Consumer", "Small business", "Enterprise", "Public sector", "Partners, resellers")
FIRST = ("Anna", "Ben", "Chloé", "David", "Emre", "Fatima", "Giulia", "Hiro", "Ines", "Jonas", "Kofi", "Lena")
LAST = ("Smith", "Müller", "Rossi", "Nguyen", "García", "Okafor", "Kowalski", "Dubois", "Tanaka", "Larsen")
COMPANIES = ("Acme", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay", "Wonka", "Soylent", "Tyrell", "Cyberdyne")
SUFFIXES = ("Ltd", "GmbH", "Inc.", "& Co", "S.A.", "Holdings, LLC")
START = datetime(2025, 1, 1, tzinfo=UTC)
OFFSETS = tuple(timezone(timedelta(hours=hours)) for hours in (-5, 1, 2, 5.5, 9))


def words(text: str) -> int:
    return len(text.split())


def detail(rng: random.Random, template: str, product: str) -> str:
    day = START + timedelta(days=rng.randrange(365))
    return template.format(
        order=rng.randrange(10**6, 10**7),
        email=f"{rng.choice(FIRST).lower()}.{rng.randrange(1000)}@example.com",
        n=rng.randint(2, 40),
        code=rng.choice("ABEX") + str(rng.randrange(100, 1000)),
        date=f"{day:%d %B}",
        date2=f"{day + timedelta(days=rng.randint(1, 9)):%d %B}",
        product=product,
        amount=f"{rng.randint(5, 900)}.{rng.randrange(100):02d}",
        team=rng.choice(TEAMS),
    )


def message(rng: random.Random) -> str:
    """One customer message of 8 to 60 words: a problem, then details up to a random length, in some tone."""
    product = rng.choice(PRODUCTS)
    problem = rng.choice(TEMPLATES).format(product=product, problem=rng.choice(PROBLEMS), when=rng.choice(WHEN))
    openers, closers = TONES[rng.choice(list(TONES))]
    opener, closer = rng.choice(openers), rng.choice(closers)
    target = rng.randint(8, 60)
    used = words(problem) + words(opener) + words(closer)
    details: list[str] = []
    for template in rng.sample(DETAILS, k=len(DETAILS)):
        extra = detail(rng, template, product)
        if used >= target or used + words(extra) > 60:
            break
        details.append(extra)
        used += words(extra)
    text = " ".join([problem, *details])
    if closer:
        text += ("\n" if rng.random() < 0.1 else " ") + closer
    if opener:
        text = opener + ("\n\n" if rng.random() < 0.1 else " ") + text
    return text


def customers(rng: random.Random) -> list[str]:
    """A pool of people and companies, so that customers come back as they do."""
    people = [f"{first} {last}" for first in FIRST for last in LAST]
    firms = [f"{name} {suffix}" for name in COMPANIES for suffix in SUFFIXES]
    return rng.sample(people + firms, k=len(people) + len(firms))


def timestamp(rng: random.Random) -> str:
    moment = START + timedelta(seconds=rng.randrange(365 * 24 * 3600))
    style = rng.random()
    if style < 0.6:
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    if style < 0.85:
        return moment.astimezone(rng.choice(OFFSETS)).isoformat()
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def write_csv(path: Path, rows: int, *, seed: int, prefix: str = "TCK") -> None:
    """`rows` messages written one row at a time: the file is never held in memory."""
    rng = random.Random(seed)
    pool = customers(rng)
    channels, weights = zip(*CHANNELS, strict=True)
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["ticket_id", "created_at", "channel", "customer", "business_unit", "message"])
        for index in range(rows):
            writer.writerow(
                [
                    f"{prefix}-{index + 1:07d}",
                    timestamp(rng),
                    rng.choices(channels, weights)[0],
                    pool[min(int(rng.expovariate(1 / 30)), len(pool) - 1)],
                    rng.choice(BUSINESS_UNITS),
                    message(rng),
                ]
            )


@dataclass(frozen=True, slots=True)
class Sample:
    at: float
    api: int
    children: int

    @property
    def total(self) -> int:
        return self.api + self.children


class Sampler:
    """RSS of the API process and of its children every 50 ms, with the time, while the block runs."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.samples: list[Sample] = []
        self.peak = 0  # the API process's VmHWM over the block: what sampling could miss
        self._children: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Sampler:
        reset_peak(self.pid)
        self._sample(refresh=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample(refresh=True)
        self.peak = memory(self.pid, "VmHWM")

    def _run(self) -> None:
        count = 0
        while not self._stop.wait(SAMPLE_SECONDS):
            count += 1
            self._sample(refresh=count % 20 == 0)  # scanning /proc costs more than reading a few status files

    def _sample(self, *, refresh: bool) -> None:
        if refresh:
            self._children = descendants(self.pid)
        children = sum(memory(child, "VmRSS") for child in self._children)
        self.samples.append(Sample(time.time(), memory(self.pid, "VmRSS"), children))

    def peak_between(self, start: float, end: float) -> Sample:
        inside = [sample for sample in self.samples if start <= sample.at <= end]
        if not inside:  # a phase shorter than a sampling period: the sample closest to it
            inside = [min(self.samples, key=lambda sample: abs(sample.at - start))]
        return max(inside, key=lambda sample: sample.total)


# The server.


def say(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


def api_client(base: str) -> httpx.Client:
    password = "benchmark passphrase 2026"
    registered = httpx.post(
        f"{base}/api/v1/auth/register", json={"email": "bench@example.com", "password": password, "name": "B"}
    )
    token = registered.json()["access_token"]
    key = httpx.post(
        f"{base}/api/v1/api-keys",
        json={"name": "bench", "scopes": ["documents:read", "documents:write"]},
        headers={"Authorization": f"Bearer {token}"},
    ).json()["secret"]
    return httpx.Client(base_url=base, headers={"X-API-Key": key}, timeout=600)


def upload(client: httpx.Client, path: Path) -> dict[str, Any]:
    """The batch as the 202 answers it; the file is streamed from disk (httpx reads a file part in 64 KiB pieces)."""
    with path.open("rb") as file:
        response = client.post(
            "/api/v1/cases/batches",
            files={"file": (path.name, file, "text/csv")},
            data={"mapping": json.dumps(MAPPING), "enrich": "true"},
        )
    if response.status_code != 202:
        raise SystemExit(f"upload of {path.name}: {response.status_code} {response.text[:1000]}")
    batch: dict[str, Any] = response.json()
    return batch


@dataclass(frozen=True, slots=True)
class Poll:
    at: float
    status: str
    rows_read: int
    records_indexed: int
    records_enriched: int
    job_status: str
    progress: int

    @property
    def state(self) -> tuple[str, int, int, int]:
        """What moves while the job makes progress."""
        return self.status, self.rows_read, self.records_indexed, self.progress


def follow(client: httpx.Client, batch_id: str, job_id: str, log: Path) -> tuple[dict[str, Any], list[Poll]]:
    """The batch once it and its job are finished, and what every poll saw on the way."""
    polls: list[Poll] = []
    changed = reported = time.time()
    while True:
        try:
            batch = client.get(f"/api/v1/cases/batches/{batch_id}", params={"errors_limit": 5}).json()
            job = client.get(f"/api/v1/jobs/{job_id}").json()
        except httpx.TransportError as error:
            raise SystemExit(f"the server stopped answering ({error})\n{tail(log)}") from error
        poll = Poll(
            time.time(),
            batch["status"],
            batch["rows_read"],
            batch["records_indexed"],
            batch["records_enriched"],
            job["status"],
            job["progress"],
        )
        if not polls or poll.status != polls[-1].status:
            say(f"  batch {poll.status}, job {poll.job_status}")
        elif poll.at - reported >= 10:
            say(f"  {poll.rows_read:,} rows read, {poll.records_indexed:,} indexed, job at {poll.progress} %")
            reported = poll.at
        if not polls or poll.state != polls[-1].state:
            changed = poll.at
        polls.append(poll)
        if batch["status"] in TERMINAL and job["status"] in TERMINAL:
            break
        if poll.at - changed > STALL_SECONDS:
            raise SystemExit(f"no progress for {STALL_SECONDS} s: batch {batch}, job {job}\n{tail(log)}")
        time.sleep(POLL_SECONDS)
    if batch["status"] != "succeeded" or job["status"] != "succeeded":
        raise SystemExit(
            f"batch {batch['status']} ({batch['error_code']}: {batch['error_message']}), job {job['status']} "
            f"({job['error_code']}: {job['error_message']})\n{tail(log)}"
        )
    return batch, polls


def tail(log: Path) -> str:
    return f"server log tail:\n{log.read_text(errors='replace')[-3000:]}" if log.exists() else "(no server log)"


@dataclass(frozen=True)
class Run:
    rows: int
    size_bytes: int
    idle: int  # RSS of the API process and its children after the warm-up
    upload_seconds: float
    import_seconds: float
    enrich_seconds: float
    wall_seconds: float
    batch: dict[str, Any]
    import_peak: Sample
    enrich_peak: Sample
    api_hwm: int
    offline_model: str | None
    polls: list[Poll] = field(repr=False)
    samples: list[Sample] = field(repr=False)

    @property
    def import_rate(self) -> float:
        return float(self.batch["rows_read"]) / self.import_seconds

    @property
    def enrich_rate(self) -> float:
        return float(self.batch["records_enriched"]) / self.enrich_seconds


def moment(value: str) -> float:
    return datetime.fromisoformat(value).timestamp()


def run(csv_path: Path, rows: int, data_dir: Path, *, pin: bool) -> Run:
    """One fresh server: a warm-up batch (the embedding model and the triage schema's labels loaded), then the file."""
    warm = csv_path.with_name(f"warm-up-{rows}.csv")
    write_csv(warm, 20, seed=-1, prefix="WARM")
    size = csv_path.stat().st_size
    settings = {"FOLIO_MAX_UPLOAD_MB": str(max(100, size // MIB + 16))}
    log = data_dir / "server.log"
    say(f"{rows:,} rows ({size / MIB:.1f} MiB): starting folio serve in {data_dir}")
    with folio_server(data_dir, settings, cpu=SERVER_CPU if pin else None) as (pid, base), api_client(base) as client:
        warmed = upload(client, warm)
        follow(client, warmed["id"], warmed["job_id"], log)
        time.sleep(1)
        with Sampler(pid) as sampler:
            idle = sampler.samples[0].total
            say(f"{rows:,} rows: uploading")
            start = time.time()
            created = upload(client, csv_path)
            upload_seconds = time.time() - start
            batch, polls = follow(client, created["id"], created["job_id"], log)
        job = client.get(f"/api/v1/jobs/{created['job_id']}").json()
        # No `limit`: GET /api/v1/cases refuses it (422 extra_forbidden) as this is written.
        listed = client.get("/api/v1/cases", params={"batch_id": batch["id"]})
        if listed.status_code != 200:
            raise SystemExit(f"GET /api/v1/cases: {listed.status_code} {listed.text[:1000]}")
        sample = listed.json()["items"]
        if batch["rows_failed"]:
            say(f"{batch['rows_failed']} rows refused, the first: {batch['errors']['items']}")
    started, imported, finished = moment(job["started_at"]), moment(batch["imported_at"]), moment(batch["finished_at"])
    enrichments = sample[0]["enrichments"] if sample else []
    return Run(
        rows=rows,
        size_bytes=size,
        idle=idle,
        upload_seconds=upload_seconds,
        import_seconds=imported - started,
        enrich_seconds=finished - imported,
        wall_seconds=finished - start,
        batch=batch,
        import_peak=sampler.peak_between(started, imported),
        enrich_peak=sampler.peak_between(imported, finished),
        api_hwm=sampler.peak,
        offline_model=enrichments[0]["model"] if enrichments else None,
        polls=polls,
        samples=sampler.samples,
    )


def write_series(path: Path, runs: list[Run]) -> None:
    """Every poll with the RSS sampled just before it, seconds from the upload's start."""
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["rows", "seconds", "status", "rows_read", "indexed", "enriched", "job_progress", "rss_mib"])
        for item in runs:
            origin = item.samples[0].at
            times = [sample.at for sample in item.samples]
            for poll in item.polls:
                rss = item.samples[max(bisect.bisect_right(times, poll.at) - 1, 0)].total
                writer.writerow(
                    [item.rows, f"{poll.at - origin:.2f}", poll.status, poll.rows_read, poll.records_indexed]
                    + [poll.records_enriched, poll.progress, f"{rss / MIB:.1f}"]
                )


# The report.


def mib(size: int) -> str:
    return f"{size / MIB:,.1f} MiB"


def verdict(met: bool) -> str:
    return "met" if met else "**not met**"


def render(command: str, runs: list[Run], *, pin: bool) -> str:
    small, large = runs
    growth_import = large.import_peak.total - small.import_peak.total
    growth_enrich = large.enrich_peak.total - small.enrich_peak.total
    flat = max(growth_import, growth_enrich) < FLAT_MIB * MIB
    placement = (
        f"pinned to CPU {SERVER_CPU}, the embedded PostgreSQL unpinned, this script pinned to CPU {CLIENT_CPU}"
        if pin
        else "nothing pinned"
    )
    models = sorted({item.offline_model or "none" for item in runs})
    rows = [
        f"| {item.rows:,} | {mib(item.size_bytes)} | {item.upload_seconds:,.2f} s | {item.import_rate:,.0f} "
        f"({item.import_seconds:,.1f} s) | {item.enrich_rate:,.1f} ({item.enrich_seconds:,.1f} s) | "
        f"{item.batch['records_enriched']:,} ({item.batch['records_needing_review']:,}) | "
        f"{mib(item.idle)} | {mib(item.import_peak.total)} | {mib(item.enrich_peak.total)} | {mib(item.api_hwm)} | "
        f"{item.wall_seconds:,.1f} s |"
        for item in runs
    ]
    return "\n".join(
        [
            SECTION,
            "",
            f"`{command}` — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {machine()}; load average "
            f"{os.getloadavg()[0]:.1f} at the end. Each file on a fresh `folio serve` (one uvicorn worker, embedded "
            f"PostgreSQL, jobs in the API process, default settings, no language model: enrichment model "
            f"{', '.join(models)}), {placement}, after a 20-row warm-up batch. Generated CSV of customer messages "
            f"(8-60 words, some with quoted commas and line breaks), uploaded in one request streamed from disk, "
            f"every column mapped. Import: rows read ÷ (batch `imported_at` − job `started_at`); index + enrich "
            f"(chunk, embed, publish, offline enrichment): records enriched ÷ (`finished_at` − `imported_at`); "
            f"wall: upload start → `finished_at`. RSS of the API process plus its children (PostgreSQL not "
            f"counted) sampled every {SAMPLE_SECONDS * 1000:.0f} ms, peak per phase; VmHWM is the API process's "
            f"own peak over the whole upload, a check on what sampling could miss.",
            "",
            "| rows | file | upload | import rows/s | index + enrich rows/s | enriched (needing review) | RSS idle "
            "| peak RSS import | peak RSS enrich | API VmHWM | wall |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
            *rows,
            "",
            f"Goals: import ≥ {IMPORT_GOAL:,} rows/s — {verdict(large.import_rate >= IMPORT_GOAL)} "
            f"({large.import_rate:,.0f} rows/s at {large.rows:,} rows); RSS flat in the file size (peak growth "
            f"< {FLAT_MIB} MiB from {small.rows:,} to {large.rows:,} rows) — {verdict(flat)} (import "
            f"{growth_import / MIB:+,.1f} MiB, index + enrich {growth_enrich / MIB:+,.1f} MiB).",
            "",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000, help="rows of the large file (the small one: a tenth)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--data-dir", type=Path, help="the servers' data directories go here (kept); default: temp")
    parser.add_argument("--series", type=Path, help="write every poll (time, status, counts, RSS) to this CSV")
    parser.add_argument("--no-pin", action="store_true", help="leave the server and this script unpinned")
    parser.add_argument("--skip-record", action="store_true", help="print only; leave RESULTS.md alone")
    args = parser.parse_args()
    if args.rows < 100:
        parser.error("--rows must be at least 100 (the small file is a tenth of it)")
    pin = not args.no_pin and (os.cpu_count() or 1) >= 2
    if pin:
        os.sched_setaffinity(0, {CLIENT_CPU})

    if args.data_dir and any(args.data_dir.glob("*-rows")):
        parser.error(f"{args.data_dir} holds an earlier run: each run needs fresh servers")
    work = Path(tempfile.mkdtemp(prefix="folio-bench-records-"))
    data_root: Path = args.data_dir or work / "data"
    try:
        runs = []
        for rows in (args.rows // 10, args.rows):
            path = work / f"messages-{rows}.csv"
            say(f"writing {rows:,} rows to {path}")
            write_csv(path, rows, seed=args.seed + rows)
            item = run(path, rows, data_root / f"{rows}-rows", pin=pin)
            say(
                f"{rows:,} rows: import {item.import_rate:,.0f} rows/s, index + enrich {item.enrich_rate:,.1f} "
                f"rows/s, peak RSS {mib(item.import_peak.total)} / {mib(item.enrich_peak.total)}"
            )
            path.unlink()
            runs.append(item)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if args.series:
        write_series(args.series, runs)

    command = "python bench/records.py" + (f" --rows {args.rows}" if args.rows != 100_000 else "")
    table = render(command, runs, pin=pin)
    print(table)
    if not args.skip_record:
        record(SECTION, table)


if __name__ == "__main__":
    main()
