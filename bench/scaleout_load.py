"""The scale-out benchmark's clients, in processes of their own so that the load generator is not what limits.

Each client is one person with an organization of their own: registers before the load (a few at a time: password
hashing would otherwise be all the load measures), then until its end mixes searches, reads, uploads (Markdown,
text, a few PDFs), answers (plain and streamed), record batches, logins and a few more registrations, with a pause
between operations. Half of them (by default) also follow their organization's events on an SSE stream from their
registration on (`Last-Event-ID: 0`: every stored event of the organization). A client talks to one API
process and, as a load balancer would, sends a request that got no answer (connection refused or reset) or a 5xx
to the other one; a stream that ends reconnects to the other one with the last id it received.

The parent drives each process through a pipe: ("go", plan) → ("registered", accounts) → ("start", wall time)
→ ("loaded", Outcome) after the load → the parent waits for every job to end → ("drain", {org id: last stored
event id}) → each stream reads up to that id → ("streams", [StreamReport]).
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

import httpx
import uvloop

from scaleout_content import cases_csv, markdown, pdf, query, question

PASSWORD = "a sturdy passphrase 42"
ATTEMPTS = 8
# Retried on the other API process: a load balancer's view of a process that is gone, full or without its database.
RETRIED = frozenset({502, 503, 504})
DRAIN_SECONDS = 60
SETUP_SECONDS = 600
# Registrations at once per client process before the load.
REGISTERING = 8

# (label, status or 0 when no answer came, milliseconds, wall time sent, error code, API index)
Request = tuple[str, int, float, float, str, int]


@dataclass(frozen=True)
class Plan:
    urls: tuple[str, ...]
    first: int
    clients: int
    seconds: float
    think: float
    stream_every: int
    seed: int


@dataclass
class Outcome:
    requests: list[Request] = field(default_factory=list)
    # Every document an upload answered 202 with, and every batch.
    documents: list[str] = field(default_factory=list)
    batches: list[str] = field(default_factory=list)
    accounts: int = 0
    # Organizations whose events a stream follows.
    followed: list[str] = field(default_factory=list)
    # Operations given up after every attempt failed, by endpoint; streamed answers that ended without `done`.
    abandoned: Counter[str] = field(default_factory=Counter)
    incomplete_answers: int = 0

    def add(self, other: Outcome) -> None:
        self.requests += other.requests
        self.documents += other.documents
        self.batches += other.batches
        self.accounts += other.accounts
        self.followed += other.followed
        self.abandoned.update(other.abandoned)
        self.incomplete_answers += other.incomplete_answers


@dataclass
class StreamReport:
    org_id: str
    connects: int
    ids: list[int]
    duplicates: int
    reached: bool
    # How its connections ended: the server's closing comment, "end" for a close without one, or the error's name.
    endings: Counter[str]


class Client:
    def __init__(self, plan: Plan, index: int, http: httpx.AsyncClient, outcome: Outcome) -> None:
        self.plan = plan
        self.index = index
        self.http = http
        self.outcome = outcome
        self.rng = random.Random(plan.seed * 100_003 + index)
        self.api = index % len(plan.urls)
        self.token = ""
        self.email = ""
        self.org_id = ""
        self.documents: list[str] = []
        self.jobs: list[str] = []
        self.stream: Follower | None = None

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def request(self, method: str, path: str, label: str, **kwargs: Any) -> httpx.Response | None:
        """The answer, after retries on the other API process; None when every attempt failed."""
        for attempt in range(ATTEMPTS):
            api = self.api
            sent, started = time.time(), time.perf_counter()
            try:
                response = await self.http.request(method, self.plan.urls[api] + path, **kwargs)
            except httpx.TransportError as error:
                self.note(label, 0, started, sent, type(error).__name__, api)
                self.api = (api + 1) % len(self.plan.urls)
                await asyncio.sleep(min(0.1 * 2**attempt, 2))
                continue
            self.note(label, response.status_code, started, sent, error_code(response), api)
            if response.status_code not in RETRIED:
                return response
            self.api = (api + 1) % len(self.plan.urls)
            await asyncio.sleep(min(float(response.headers.get("retry-after", "1")), 2))
        self.outcome.abandoned[label] += 1
        return None

    def note(self, label: str, status: int, started: float, sent: float, code: str, api: int) -> None:
        self.outcome.requests.append((label, status, (time.perf_counter() - started) * 1000, sent, code, api))

    async def setup(self, streams: httpx.AsyncClient, registering: asyncio.Semaphore) -> None:
        async with registering:
            registered = await self.register(time.time() + SETUP_SECONDS)
        if registered and self.index % self.plan.stream_every == 0:
            self.stream = Follower(self, streams)
            self.outcome.followed.append(self.org_id)

    async def run(self, start: float) -> None:
        if not self.org_id:
            return
        end = start + self.plan.seconds
        # Not all in the same instant.
        await asyncio.sleep(max(0.0, start - time.time()) + self.rng.uniform(0, self.plan.think))
        operations = list(OPERATIONS)
        weights = [OPERATIONS[operation] for operation in operations]
        while time.time() < end:
            await self.rng.choices(operations, weights)[0](self)
            await asyncio.sleep(self.rng.uniform(0.5, 1.5) * self.plan.think)

    async def register(self, until: float) -> bool:
        """Register (again later after a failure, as a person would); an answer lost after the account was made
        shows as EMAIL_TAKEN, and then the person logs in."""
        self.email = f"scaleout-{self.plan.seed}-{self.index}@example.com"
        body = {"email": self.email, "password": PASSWORD, "name": f"Client {self.index}"}
        while time.time() < until:
            response = await self.request("POST", "/api/v1/auth/register", "POST /auth/register", json=body)
            if response is not None and response.status_code == 201:
                self.token = response.json()["access_token"]
            elif response is not None and error_code(response) == "EMAIL_TAKEN":
                await self.login()
            if self.token:
                me = await self.request("GET", "/api/v1/auth/me", "GET /auth/me", headers=self.headers)
                if me is not None and me.status_code == 200:
                    self.org_id = me.json()["org"]["id"]
                    self.outcome.accounts += 1
                    return True
            await asyncio.sleep(self.rng.uniform(1, 2))
        return False

    async def register_another(self) -> None:
        body = {"email": f"extra-{self.rng.getrandbits(64):x}@example.com", "password": PASSWORD, "name": "Extra"}
        await self.request("POST", "/api/v1/auth/register", "POST /auth/register", json=body)

    async def login(self) -> None:
        body = {"email": self.email, "password": PASSWORD}
        response = await self.request("POST", "/api/v1/auth/login", "POST /auth/login", json=body)
        if response is not None and response.status_code == 200:
            self.token = response.json()["access_token"]

    async def search(self) -> None:
        body = {"query": query(self.rng), "top_k": 5}
        await self.request("POST", "/api/v1/search", "POST /search", json=body, headers=self.headers)

    async def list_documents(self) -> None:
        await self.request("GET", "/api/v1/documents?limit=20", "GET /documents", headers=self.headers)

    async def read_document(self) -> None:
        if self.documents:
            path = f"/api/v1/documents/{self.rng.choice(self.documents)}"
            await self.request("GET", path, "GET /documents/{id}", headers=self.headers)

    async def read_job(self) -> None:
        if self.jobs:
            path = f"/api/v1/jobs/{self.rng.choice(self.jobs)}"
            await self.request("GET", path, "GET /jobs/{id}", headers=self.headers)

    async def upload_text(self) -> None:
        await self.upload([markdown(self.rng) for _ in range(self.rng.randint(1, 2))])

    async def upload_pdf(self) -> None:
        await self.upload([pdf(self.rng)])

    async def upload(self, files: list[tuple[str, bytes, str]]) -> None:
        response = await self.request(
            "POST",
            "/api/v1/documents",
            "POST /documents",
            files=[("files", file) for file in files],
            headers=self.headers,
        )
        if response is not None and response.status_code == 202:
            for item in response.json()["items"]:
                self.documents.append(item["document"]["id"])
                self.outcome.documents.append(item["document"]["id"])
                if item["job_id"]:
                    self.jobs.append(item["job_id"])

    async def upload_batch(self) -> None:
        data = {"mapping": json.dumps({"text": "text", "external_id": "id"}), "enrich": str(self.rng.random() < 0.5)}
        response = await self.request(
            "POST",
            "/api/v1/cases/batches",
            "POST /cases/batches",
            files={"file": ("cases.csv", cases_csv(self.rng), "text/csv")},
            data={key: value.lower() for key, value in data.items()},
            headers=self.headers,
        )
        if response is not None and response.status_code == 202:
            batch = response.json()
            self.outcome.batches.append(batch["id"])
            if batch["job_id"]:
                self.jobs.append(batch["job_id"])

    async def answer(self) -> None:
        body = {"question": question(self.rng), "top_k": 5}
        await self.request("POST", "/api/v1/answers", "POST /answers", json=body, headers=self.headers)

    async def answer_streamed(self) -> None:
        body = {"question": question(self.rng), "top_k": 5, "stream": True}
        # The whole stream is read: the time is until its last event.
        response = await self.request(
            "POST", "/api/v1/answers", "POST /answers (stream)", json=body, headers=self.headers
        )
        if response is not None and response.status_code == 200 and b"event: done" not in response.content:
            self.outcome.incomplete_answers += 1


# Weights: mostly reading and searching, as people do; uploads often enough to keep both workers busy.
OPERATIONS = {
    Client.search: 30,
    Client.list_documents: 10,
    Client.read_document: 10,
    Client.read_job: 10,
    Client.upload_text: 6,
    Client.upload_pdf: 1,
    Client.answer: 5,
    Client.answer_streamed: 5,
    Client.upload_batch: 1,
    Client.login: 2,
    Client.register_another: 1,
}


class Follower:
    """A client's SSE stream of its organization's events, reconnected to the other API process whenever it ends,
    from the last id received."""

    def __init__(self, client: Client, http: httpx.AsyncClient) -> None:
        self.client = client
        self.http = http
        self.api = client.api
        self.last_id = 0
        self.ids: list[int] = []
        self.seen: set[int] = set()
        self.duplicates = 0
        self.connects = 0
        self.endings = Counter[str]()
        self.comment = ""
        self.target: int | None = None
        self.reached = asyncio.Event()
        self.task = asyncio.create_task(self.follow())

    async def follow(self) -> None:
        urls = self.client.plan.urls
        while True:
            headers = {**self.client.headers, "Last-Event-ID": str(self.last_id)}
            sent, started = time.time(), time.perf_counter()
            answered = False
            try:
                async with self.http.stream("GET", urls[self.api] + "/api/v1/events", headers=headers) as response:
                    answered = True
                    if response.status_code != 200:
                        await response.aread()
                    self.client.note("GET /events", response.status_code, started, sent, error_code(response), self.api)
                    if response.status_code == 200:
                        self.connects += 1
                        self.comment = ""
                        await self.read(response)
                        self.endings[self.comment or "end"] += 1
            except httpx.TransportError as error:
                # A stream that ends by a lost connection is reconnected below, as one that ends cleanly.
                if answered:
                    self.endings[type(error).__name__] += 1
                else:
                    self.client.note("GET /events", 0, started, sent, type(error).__name__, self.api)
            self.api = (self.api + 1) % len(urls)
            await asyncio.sleep(0.2)

    async def read(self, response: httpx.Response) -> None:
        # A message's fields come in any order (Folio sends `data` before `id`); a blank line ends it.
        event_id: int | None = None
        data: str | None = None
        async for line in response.aiter_lines():
            if line.startswith("id:"):
                event_id = int(line[3:])
            elif line.startswith("data:"):
                data = line[5:]
            elif line.startswith(":") and "heartbeat" not in line:
                self.comment = line[1:].strip()
            elif not line:
                if data is not None:
                    self.receive(event_id, json.loads(data))
                event_id, data = None, None

    def receive(self, event_id: int | None, event: dict[str, Any]) -> None:
        if event_id is not None:
            if event_id in self.seen:
                self.duplicates += 1
            else:
                self.seen.add(event_id)
                self.ids.append(event_id)
            self.last_id = max(self.last_id, event_id)
        if self.target is not None and self.last_id >= self.target:
            self.reached.set()

    async def drain(self, target: int) -> StreamReport:
        """Read until the event `target` (the organization's last stored one) has come, then close."""
        self.target = target
        if self.last_id >= target:
            self.reached.set()
        try:
            await asyncio.wait_for(self.reached.wait(), DRAIN_SECONDS)
        except TimeoutError:
            pass
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
        return StreamReport(
            self.client.org_id,
            self.connects,
            self.ids,
            self.duplicates,
            self.reached.is_set(),
            self.endings,
        )


def error_code(response: httpx.Response) -> str:
    if response.status_code < 400:
        return ""
    try:
        return str(response.json()["error"]["code"])
    except (ValueError, KeyError, TypeError):
        return "(no envelope)"


def clients_process(control: Connection) -> None:
    uvloop.run(_clients(control))


async def _clients(control: Connection) -> None:
    _, plan = control.recv()  # ("go", plan)
    outcome = Outcome()
    limits = httpx.Limits(max_connections=plan.clients * 3 + 10, max_keepalive_connections=plan.clients * 2)
    async with (
        httpx.AsyncClient(timeout=httpx.Timeout(60, connect=5), limits=limits) as http,
        httpx.AsyncClient(timeout=httpx.Timeout(10, read=30), limits=limits) as streams,
    ):
        clients = [Client(plan, index, http, outcome) for index in range(plan.first, plan.first + plan.clients)]
        registering = asyncio.Semaphore(REGISTERING)
        await asyncio.gather(*(client.setup(streams, registering) for client in clients))
        control.send(("registered", outcome.accounts))
        _, start = await asyncio.to_thread(control.recv)  # ("start", wall time)
        await asyncio.gather(*(client.run(start) for client in clients))
        control.send(("loaded", outcome))
        _, targets = await asyncio.to_thread(control.recv)  # ("drain", targets)
        followers = [client.stream for client in clients if client.stream is not None]
        reports = await asyncio.gather(
            *(follower.drain(targets.get(follower.client.org_id, 0)) for follower in followers)
        )
        control.send(("streams", reports))
