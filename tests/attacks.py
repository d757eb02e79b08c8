"""The attacks of the outside test, against a live `folio serve`: tests/test_attacks.py asserts their outcomes and
bench/hardening.py prints them as a table. Each measures the answer, the time to answer and the peak memory growth
of the API process and its children (PostgreSQL excepted), from /proc."""

from __future__ import annotations

import asyncio
import http.client
import io
import json
import random
import select
import shutil
import socket
import statistics
import tempfile
import threading
import time
import zipfile
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from reportlab.pdfgen import canvas

from tests.processes import descendants, extraction_processes, folio_server, memory, proportional, reset_peak

MIB = 1024 * 1024
PASSWORD = "a sturdy passphrase 42"


@dataclass(frozen=True)
class Target:
    pid: int
    url: str


@dataclass
class Outcome:
    attack: str
    answer: str
    seconds: float
    growth_mib: float
    facts: dict[str, Any] = field(default_factory=dict)


@contextmanager
def hanging_endpoint() -> Iterator[str]:
    """A model endpoint (base URL) that accepts connections and never answers."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/v1"
    finally:
        stop.set()
        thread.join()
        for connection in held:
            connection.close()
        listener.close()


@contextmanager
def attack_target() -> Iterator[Target]:
    """A warmed-up `folio serve` (embedded database, in-process jobs) whose model never answers (8 s timeout)."""
    # Short, because the embedded server's Unix socket lives in it.
    data_dir = Path(tempfile.mkdtemp(prefix="folio-attack-"))
    try:
        with hanging_endpoint() as model_url:
            settings = {
                "FOLIO_LLM__PROVIDER": "openai",
                "FOLIO_LLM__BASE_URL": model_url,
                "FOLIO_LLM__MAX_RETRIES": "0",
                "FOLIO_LLM__TIMEOUT_SECONDS": "8",
                "FOLIO_LOG__LEVEL": "WARNING",
            }
            with folio_server(data_dir, settings) as (pid, url):
                target = Target(pid, url)
                asyncio.run(warm_up(target))
                yield target
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


class PeakGrowth:
    """Peak memory above the start: the API process's high-water mark, and its children's proportional sizes (the
    pages they share with their fork server counted once), sampled, as is the number of extraction processes."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.children_peak = 0
        self.most_extractions = 0
        self._stop = threading.Event()

    def _children(self) -> int:
        return sum(proportional(child) for child in descendants(self.pid))

    def _sample(self) -> None:
        while not self._stop.wait(0.01):
            self.children_peak = max(self.children_peak, self._children())
            self.most_extractions = max(self.most_extractions, extraction_processes(self.pid))

    @contextmanager
    def watching(self) -> Iterator[PeakGrowth]:
        self.start_rss = memory(self.pid, "VmRSS")
        self.start_children = self._children()
        reset_peak(self.pid)
        sampler = threading.Thread(target=self._sample, daemon=True)
        sampler.start()
        try:
            yield self
        finally:
            self._stop.set()
            sampler.join()
            self.mib = (
                max(memory(self.pid, "VmHWM") - self.start_rss, 0) + max(self.children_peak - self.start_children, 0)
            ) / MIB


@dataclass
class Probe:
    """What an attack fills in: its answer and any facts for the tests; `outcome` once the measurement ends."""

    attack: str
    growth: PeakGrowth
    answer: str = ""
    facts: dict[str, Any] = field(default_factory=dict)
    outcome: Outcome | None = None


@asynccontextmanager
async def measured(target: Target, attack: str) -> AsyncIterator[Probe]:
    growth = PeakGrowth(target.pid)
    probe = Probe(attack, growth)
    with growth.watching():
        started = time.perf_counter()
        yield probe
        seconds = time.perf_counter() - started
    probe.outcome = Outcome(attack, probe.answer, seconds, growth.mib, probe.facts)


def result(probe: Probe) -> Outcome:
    assert probe.outcome is not None
    return probe.outcome


def describe(response: httpx.Response | tuple[int, bytes]) -> str:
    status, body = (response.status_code, response.content) if isinstance(response, httpx.Response) else response
    try:
        code = json.loads(body)["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return str(status)
    return f"{status} {code}"


# A request whose body is sent while the answer is watched for: the server may answer (and close) long before the
# body ends, as it should for a body it refuses.


def stream_request(
    url: str, method: str, path: str, headers: dict[str, str], body: Iterable[bytes], length: int | None
) -> tuple[int, bytes]:
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), timeout=60)
    try:
        lines = [f"{method} {path} HTTP/1.1", f"Host: {parts.netloc}", "Connection: close"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        lines.append(f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked")
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        try:
            for piece in body:
                if select.select([sock], [], [], 0)[0]:
                    break  # the server has answered
                sock.sendall(piece if length is not None else b"%x\r\n%s\r\n" % (len(piece), piece))
            else:
                if length is None:
                    sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        response = http.client.HTTPResponse(sock)
        response.begin()
        return response.status, response.read()
    finally:
        sock.close()


def repeated(piece: bytes, total: int) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        chunk = piece[: total - sent]
        sent += len(chunk)
        yield chunk


def multipart(boundary: str, parts: Iterable[tuple[str, str | None, Iterable[bytes]]]) -> Iterator[bytes]:
    for name, filename, content in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        yield f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode()
        yield from content
        yield b"\r\n"
    yield f"--{boundary}--\r\n".encode()


# The attacks.


async def account(client: httpx.AsyncClient, label: str) -> dict[str, str]:
    email = f"{label}-{random.getrandbits(48):x}@example.com"
    response = await client.post(
        "/api/v1/auth/register", json={"email": email, "password": PASSWORD, "name": label.title()}
    )
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def multipart_to_json_routes(target: Target, *, megabytes: int = 300, parallel: int = 3) -> Outcome:
    """Multipart zeros to registration, and in parallel to answers: read no further than the JSON limit."""
    boundary = "attack"
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    size = megabytes * MIB

    def post(path: str) -> tuple[int, bytes]:
        body = multipart(boundary, [("email", None, repeated(b"\0" * 65536, size))])
        return stream_request(target.url, "POST", path, headers, body, size + 200)

    async with measured(target, f"multipart {megabytes} MB to JSON routes") as probe:
        answers = await asyncio.gather(
            asyncio.to_thread(post, "/api/v1/auth/register"),
            *(asyncio.to_thread(post, "/api/v1/answers") for _ in range(parallel)),
        )
        probe.answer = ", ".join(sorted({describe(answer) for answer in answers}))
    return result(probe)


async def many_form_fields(target: Target, headers: dict[str, str], *, fields: int = 5000) -> Outcome:
    """One file and thousands of 60 KB text fields to the upload endpoint."""
    boundary = "fields"
    field_value = b"v" * 60 * 1024
    parts: list[tuple[str, str | None, Iterable[bytes]]] = [("files", "note.txt", [b"a small note"])]
    parts += [(f"field{number}", None, [field_value]) for number in range(fields)]
    size = sum(len(piece) for piece in multipart(boundary, parts))
    sent = {**headers, "Content-Type": f"multipart/form-data; boundary={boundary}"}
    async with measured(target, f"{fields} form fields of 60 KB") as probe:
        answer = await asyncio.to_thread(
            stream_request, target.url, "POST", "/api/v1/documents", sent, multipart(boundary, parts), size
        )
        probe.answer = describe(answer)
    return result(probe)


SSRF_URLS = [
    "http://127.0.0.1:8000/v1",
    "http://localhost/v1",
    "http://[::1]/v1",
    "http://2130706433/v1",
    "http://127.1/v1",
    "http://0.0.0.0/v1",
    "http://169.254.169.254/latest",
    "http://metadata.google.internal/computeMetadata/v1",
    "http://[::ffff:127.0.0.1]/v1",
    "http://10.0.0.1/v1",
]


async def ssrf_model_settings(client: httpx.AsyncClient, target: Target, headers: dict[str, str]) -> Outcome:
    async with measured(target, "model base_url at internal addresses") as probe:
        answers: Counter[str] = Counter()
        for base_url in SSRF_URLS:
            response = await client.put(
                "/api/v1/llm/settings",
                json={"provider": "openai", "base_url": base_url, "model": "m", "api_key": "sk-attacker"},
                headers=headers,
            )
            answers[describe(response)] += 1
        probe.answer = ", ".join(f"{answer} ×{count}" for answer, count in answers.items())
        probe.facts = {"answers": dict(answers)}
    return result(probe)


NUL_QUERIES = [
    "/api/v1/documents?q=%00",
    "/api/v1/documents?tag=%00",
    "/api/v1/jobs?kind=%00",
    "/api/v1/cases?q=a%00",
]


async def nul_bytes(client: httpx.AsyncClient, target: Target, headers: dict[str, str]) -> Outcome:
    async with measured(target, "NUL bytes in queries and bodies") as probe:
        answers = [describe(await client.get(path, headers=headers)) for path in NUL_QUERIES]
        answers.append(describe(await client.post("/api/v1/search", json={"query": "a\0b"}, headers=headers)))
        probe.answer = ", ".join(sorted(set(answers)))
        probe.facts = {"answers": answers}
    return result(probe)


async def deep_schema(client: httpx.AsyncClient, target: Target, headers: dict[str, str]) -> Outcome:
    depth = 1000
    # Written out: the json module would recurse as deep as the document.
    nested = '{"type": "object", "properties": {"a": ' * depth + '{"type": "string"}' + "}}" * depth
    body = '{"name": "deep", "schema": ' + nested + "}"
    async with measured(target, "enrichment schema nested 1,000 deep") as probe:
        response = await client.post(
            "/api/v1/enrichment/schemas",
            content=body,
            headers={**headers, "Content-Type": "application/json"},
        )
        probe.answer = describe(response)
    return result(probe)


async def unterminated_csv(
    client: httpx.AsyncClient, target: Target, headers: dict[str, str], *, megabytes: int = 60
) -> Outcome:
    """A CSV whose second row opens a quote that never closes: the rest of the file is one field."""
    content = b'id,message\n1,fine\n2,"' + b"x" * (megabytes * MIB) + b"\n"
    async with measured(target, f"CSV {megabytes} MB with an unterminated quote") as probe:
        response = await client.post(
            "/api/v1/cases/batches",
            files={"file": ("cases.csv", content, "text/csv")},
            data={"mapping": json.dumps({"text": "message", "external_id": "id"}), "enrich": "false"},
            headers=headers,
        )
        answer = describe(response)
        if response.status_code == 202:
            batch = response.json()
            job = await finished(client, headers, batch["job_id"], seconds=300)
            detail = await client.get(f"/api/v1/cases/batches/{batch['id']}", headers=headers)
            codes = sorted({error["code"] for error in detail.json()["errors"]["items"]})
            answer = f"202, job {job['status']}, row errors {', '.join(codes) or 'none'}"
            probe.facts = {"row_errors": codes, "job": job["status"]}
        probe.answer = answer
    return result(probe)


def docx_bomb(inflated: int, declared: int) -> bytes:
    """A DOCX whose document.xml inflates to `inflated` bytes while both of its headers declare `declared`; made
    piece by piece, so the maker never holds the inflated text."""
    head = (
        b'<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/'
        b'wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>'
    )
    tail = b"</w:t></w:r></w:p></w:body></w:document>"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
            "</Types>",
        )
        archive.writestr(
            "_rels/.rels",
            '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
            'officeDocument" Target="word/document.xml"/></Relationships>',
        )
        with archive.open("word/document.xml", "w", force_zip64=False) as member:
            member.write(head)
            for piece in repeated(b"a" * MIB, inflated - len(head) - len(tail)):
                member.write(piece)
            member.write(tail)
    data = bytearray(buffer.getvalue())
    real, lie = inflated.to_bytes(4, "little"), declared.to_bytes(4, "little")
    # The uncompressed size is at offset 22 of a local header and 24 of a central directory entry.
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        start = 0
        while (start := data.find(signature, start)) != -1:
            if data[start + offset : start + offset + 4] == real:
                data[start + offset : start + offset + 4] = lie
            start += 4
    return bytes(data)


async def docx_bombs(
    client: httpx.AsyncClient, target: Target, headers: dict[str, str], *, inflated_mib: int = 1024
) -> Outcome:
    bombs = {declared: docx_bomb(inflated_mib * MIB, declared) for declared in (1000, 150 * MIB)}
    answers = []
    async with measured(target, f"DOCX inflating to {inflated_mib} MiB, declaring 1,000 B and 150 MiB") as probe:
        for declared, bomb in bombs.items():
            response = await client.post(
                "/api/v1/documents",
                files=[("files", (f"bomb-{declared}.docx", bomb, "application/octet-stream"))],
                headers=headers,
                params={"allow_duplicate": "true"},
            )
            assert response.status_code == 202, response.text
            job = await finished(client, headers, response.json()["items"][0]["job_id"], seconds=300)
            answers.append(f"{job['status']} {job['error_code']}")
        probe.answer = ", ".join(sorted(set(answers)))
    return result(probe)


def report(number: int, *, pages: int) -> bytes:
    """A PDF of `pages` pages of text, different for each `number`."""
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer)
    for page in range(pages):
        for line in range(30):
            pdf.drawString(72, 720 - 20 * line, f"Report {number}, page {page}, line {line}: quarterly figures.")
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


async def job_flood(
    client: httpx.AsyncClient, target: Target, headers: dict[str, str], *, files: int = 20, pages: int = 5
) -> Outcome:
    """Twenty PDFs in one upload: jobs and extraction processes running at once stay at the concurrency."""
    uploads = [
        ("files", (f"report-{number}.pdf", report(number, pages=pages), "application/pdf")) for number in range(files)
    ]
    most_jobs = 0
    async with measured(target, f"{files} PDFs of {pages} pages in one upload") as probe:
        response = await client.post("/api/v1/documents", files=uploads, headers=headers)
        assert response.status_code == 202, response.text
        job_ids = [item["job_id"] for item in response.json()["items"]]
        async with asyncio.timeout(300):
            while True:
                # One snapshot of every job of the upload at a time, often, so that no stretch of running is missed.
                listed = await client.get("/api/v1/jobs", params={"ids": ",".join(job_ids)}, headers=headers)
                statuses = [job["status"] for job in listed.json()["items"]]
                assert len(statuses) == files, listed.text
                most_jobs = max(most_jobs, statuses.count("running"))
                if all(status in {"succeeded", "failed", "cancelled"} for status in statuses):
                    break
                await asyncio.sleep(0.05)
        extracting = probe.growth.most_extractions
        probe.answer = f"all done; at most {most_jobs} jobs and {extracting} extraction processes at once"
        probe.facts = {"jobs": most_jobs, "children": extracting}
    return result(probe)


async def hanging_model(client: httpx.AsyncClient, target: Target, *, parallel: int = 25) -> Outcome:
    """Answers of one org wait on a model that never answers; another org lists its documents meanwhile."""
    attacker, bystander = await account(client, "attacker"), await account(client, "bystander")
    # With a passage to answer from, so that every answer calls the model.
    await ingested(client, attacker, "notice.txt", b"The notice period is ninety days, in writing.")
    async with measured(target, f"{parallel} answers on a hanging model, another org lists") as probe:
        asks = [
            asyncio.create_task(
                client.post("/api/v1/answers", json={"question": "What is the notice?"}, headers=attacker)
            )
            for _ in range(parallel)
        ]
        await asyncio.sleep(1)
        started = time.perf_counter()
        listed = await client.get("/api/v1/documents", headers=bystander)
        other = time.perf_counter() - started
        answers = Counter(describe(response) for response in await asyncio.gather(*asks))
        probe.answer = f"other org {describe(listed)} in {other:.2f} s; answers " + ", ".join(
            f"{answer} ×{count}" for answer, count in answers.items()
        )
        probe.facts = {"other_status": listed.status_code, "other_seconds": other, "answers": dict(answers)}
    return result(probe)


async def ingested(client: httpx.AsyncClient, headers: dict[str, str], filename: str, content: bytes) -> None:
    response = await client.post("/api/v1/documents", files=[("files", (filename, content))], headers=headers)
    assert response.status_code == 202, response.text
    job = await finished(client, headers, response.json()["items"][0]["job_id"], seconds=300)
    assert job["status"] == "succeeded", job


async def warm_up(target: Target) -> None:
    """Load what a first use loads once (the embedding model and its buffers at full length, the extraction fork
    server and the PDF library), so that no attack's memory growth counts it."""
    async with httpx.AsyncClient(base_url=target.url, timeout=300) as client:
        await ingested(client, await account(client, "warm"), "warm-up.pdf", report(-1, pages=20))


async def finished(
    client: httpx.AsyncClient, headers: dict[str, str], job_id: str, *, seconds: float
) -> dict[str, Any]:
    async with asyncio.timeout(seconds):
        while True:
            body: dict[str, Any] = (await client.get(f"/api/v1/jobs/{job_id}", headers=headers)).json()
            if body["status"] in {"succeeded", "failed", "cancelled"}:
                return body
            await asyncio.sleep(0.2)


# Mixed load: many clients at once, each logging in, searching, uploading and listing.


@dataclass
class LoadReport:
    requests: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    timeouts: int = 0
    latencies: list[float] = field(default_factory=list)

    def count(self, status: int, seconds: float) -> None:
        self.requests += 1
        self.statuses[str(status)] += 1
        self.latencies.append(seconds)

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(int(share * len(ordered)), len(ordered) - 1)] if ordered else 0.0

    @property
    def median(self) -> float:
        return statistics.median(self.latencies) if self.latencies else 0.0


async def mixed_load(target: Target, *, clients: int, seconds: float, request_seconds: float = 30) -> LoadReport:
    """Each client loops over login, search, listing and a small upload until `seconds` are over."""
    report = LoadReport()
    limits = httpx.Limits(max_connections=clients)
    async with httpx.AsyncClient(base_url=target.url, timeout=request_seconds, limits=limits) as client:
        # A tenth as many accounts as clients: several clients share each, as tabs and scripts of one user do.
        people = [await member(client, "load") for _ in range(max(clients // 10, 1))]
        deadline = time.monotonic() + seconds

        async def timed(call: Callable[[], Any]) -> None:
            started = time.perf_counter()
            try:
                response: httpx.Response = await call()
            except httpx.TimeoutException:
                report.timeouts += 1
                return
            report.count(response.status_code, time.perf_counter() - started)

        async def user(number: int) -> None:
            own = people[number % len(people)].headers
            email = people[number % len(people)].email
            steps: list[Callable[[], Any]] = [
                lambda: client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD}),
                lambda: client.post("/api/v1/search", json={"query": f"note {number}"}, headers=own),
                lambda: client.get("/api/v1/documents", headers=own),
                lambda: client.post(
                    "/api/v1/documents",
                    files=[("files", (f"load-{number}.txt", f"Note {number} {time.time()}".encode(), "text/plain"))],
                    headers=own,
                ),
            ]
            step = number
            while time.monotonic() < deadline:
                await timed(steps[step % len(steps)])
                step += 1

        await asyncio.gather(*(user(number) for number in range(clients)))
    return report


# Accounts, keys and sessions.


@dataclass(frozen=True)
class Member:
    email: str
    headers: dict[str, str]
    refresh_token: str
    user_id: str
    org_id: str


async def member(client: httpx.AsyncClient, label: str) -> Member:
    email = f"{label}-{random.getrandbits(48):x}@example.com"
    response = await client.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD, "name": label})
    assert response.status_code == 201, response.text
    body = response.json()
    headers = {"Authorization": f"Bearer {body['access_token']}"}
    me = (await client.get("/api/v1/auth/me", headers=headers)).json()
    return Member(email, headers, body["refresh_token"], body["user"]["id"], me["org"]["id"])


async def join(client: httpx.AsyncClient, owner: Member, person: Member, role: str) -> None:
    invited = await client.post(
        f"/api/v1/orgs/{owner.org_id}/invitations", json={"email": person.email, "role": role}, headers=owner.headers
    )
    assert invited.status_code == 202, invited.text
    accepted = await client.post(f"/api/v1/invitations/{invited.json()['id']}/accept", headers=person.headers)
    assert accepted.status_code == 200, accepted.text


async def removed_members_key(client: httpx.AsyncClient, target: Target) -> Outcome:
    """A member makes a key, is removed, is invited back and accepts: the key must stay dead."""
    owner, insider = await member(client, "owner"), await member(client, "insider")
    await join(client, owner, insider, "editor")
    in_org = {**insider.headers, "X-Org-Id": owner.org_id}
    key = await client.post("/api/v1/api-keys", json={"name": "mine", "scopes": ["search"]}, headers=in_org)
    assert key.status_code == 201, key.text
    as_key = {"X-API-Key": key.json()["secret"]}
    async with measured(target, "a removed member's API key after re-adding") as probe:
        removed = await client.delete(f"/api/v1/orgs/{owner.org_id}/members/{insider.user_id}", headers=owner.headers)
        while_removed = await client.get("/api/v1/auth/me", headers=as_key)
        await join(client, owner, insider, "editor")
        after = await client.get("/api/v1/auth/me", headers=as_key)
        probe.answer = (
            f"removed {removed.status_code}; key {describe(while_removed)}, after re-adding {describe(after)}"
        )
        probe.facts = {"while_removed": while_removed.status_code, "after": after.status_code}
    return result(probe)


async def invitation_enumeration(client: httpx.AsyncClient, target: Target) -> Outcome:
    """Inviting an address with an account and one without must answer alike."""
    owner, existing = await member(client, "inviter"), await member(client, "existing")
    unknown = f"nobody-{random.getrandbits(48):x}@example.com"
    async with measured(target, "invitations to an existing and an unknown address") as probe:
        shapes = []
        for email in (existing.email, unknown):
            response = await client.post(
                f"/api/v1/orgs/{owner.org_id}/invitations",
                json={"email": email, "role": "viewer"},
                headers=owner.headers,
            )
            body = response.json()
            shapes.append((response.status_code, sorted(body), body.get("status")))
        probe.answer = "alike" if shapes[0] == shapes[1] else f"differ: {shapes}"
        probe.facts = {"shapes": shapes}
    return result(probe)


async def session_edges(client: httpx.AsyncClient, target: Target) -> Outcome:
    """Two tabs refresh one token at once; a key expiring in the past; the security headers."""
    person = await member(client, "tabs")
    async with measured(target, "two refreshes at once, a key already expired, headers") as probe:
        refreshes = await asyncio.gather(
            *(client.post("/api/v1/auth/refresh", json={"refresh_token": person.refresh_token}) for _ in range(2))
        )
        expired = await client.post(
            "/api/v1/api-keys",
            json={"name": "old", "scopes": ["search"], "expires_at": "2020-01-01T00:00:00Z"},
            headers=person.headers,
        )
        headers = refreshes[0].headers
        security = all(
            name in headers for name in ("x-content-type-options", "referrer-policy", "content-security-policy")
        )
        probe.answer = (
            f"refreshes {sorted(response.status_code for response in refreshes)}, expired key {describe(expired)}, "
            f"security headers {'present' if security else 'missing'}"
        )
        probe.facts = {
            "refreshes": [response.status_code for response in refreshes],
            "expired_key": describe(expired),
            "security_headers": security,
        }
    return result(probe)
