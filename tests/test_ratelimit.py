"""Rate limits per user, API key and address, in memory and shared through Redis; failing open without Redis.

Windows are per hour rather than per minute: the sliding-window counter weighs the previous window, so a
window boundary falling inside a test could let one more request through. An hour makes that negligible.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from uuid import uuid4

import httpx
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from limits import parse
from limits.aio import strategies as limits_strategies
from limits.aio.storage import MemoryStorage
from limits.aio.storage import memory as limits_memory
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from prometheus_client import REGISTRY
from redis.asyncio import Redis

from folio.errors import RateLimitExceeded
from folio.main import create_app
from folio.ratelimit import MemoryWindows, Policy, RateLimiter
from folio.settings import RateLimitSettings
from tests.conftest import AppFactory
from tests.conftest import make_settings as make_settings
from tests.factories import Account, create_api_key, register

REDIS_URL = os.environ.get("FOLIO_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
UNREACHABLE_REDIS_URL = "redis://127.0.0.1:1/0"
HOUR, DAY = 3600, 86400


def assert_rate_limited(response: httpx.Response, limit: int, *, window_seconds: int = HOUR) -> int:
    """A 429 in the envelope with Retry-After and the X-RateLimit-* headers; returns Retry-After.

    Retry-After is a delay in seconds (RFC 9110), so it is at most the refusing limit's window, never an epoch time.
    """
    assert response.status_code == 429, response.text
    error = response.json()["error"]
    assert error["code"] == "RATE_LIMIT_EXCEEDED"
    assert error["request_id"] == response.headers["X-Request-ID"]
    retry_after = response.headers["Retry-After"]
    assert retry_after.isdigit()
    assert 0 < int(retry_after) <= window_seconds
    assert error["details"]["retry_after"] == int(retry_after)
    assert response.headers["X-RateLimit-Limit"] == str(limit)
    assert response.headers["X-RateLimit-Remaining"] == "0"
    assert response.headers["X-RateLimit-Reset"].isdigit()
    return int(retry_after)


def remaining(response: httpx.Response) -> int:
    return int(response.headers["X-RateLimit-Remaining"])


@asynccontextmanager
async def clients_on_one_app(
    database_url: str, addresses: list[str], **overrides: Any
) -> AsyncIterator[list[httpx.AsyncClient]]:
    """Clients on one fresh app, each connecting from its own address."""
    application = create_app(make_settings(database_url, **overrides))
    async with application.router.lifespan_context(application):
        clients = [
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=application, client=(address, 40000)),
                base_url="http://testserver",
            )
            for address in addresses
        ]
        try:
            yield clients
        finally:
            for http in clients:
                await http.aclose()


# Users


async def test_user_limit_answers_429_with_headers(client: httpx.AsyncClient, app_factory: AppFactory) -> None:
    account = await register(client)
    started = int(time.time())
    async with app_factory(rate_limit={"enabled": True, "user": "3/hour"}) as limited:
        allowed = [await limited.get("/api/v1/auth/me", headers=account.headers) for _ in range(3)]
        for response in allowed:
            assert response.status_code == 200, response.text
            assert response.headers["X-RateLimit-Limit"] == "3"
            assert int(response.headers["X-RateLimit-Reset"]) >= started
        assert [remaining(response) for response in allowed] == [2, 1, 0]

        refused = await limited.get("/api/v1/auth/me", headers=account.headers)
        assert_rate_limited(refused, 3)
        assert int(refused.headers["X-RateLimit-Reset"]) >= started


async def test_each_user_has_their_own_counter(client: httpx.AsyncClient, app_factory: AppFactory) -> None:
    first, second = await register(client), await register(client)
    async with app_factory(rate_limit={"enabled": True, "user": "2/hour"}) as limited:
        for _ in range(2):
            assert (await limited.get("/api/v1/auth/me", headers=first.headers)).status_code == 200
        assert_rate_limited(await limited.get("/api/v1/auth/me", headers=first.headers), 2)

        other = await limited.get("/api/v1/auth/me", headers=second.headers)
        assert other.status_code == 200
        assert remaining(other) == 1


async def test_disabled_limits_neither_refuse_nor_add_headers(client: httpx.AsyncClient) -> None:
    account = await register(client)
    for _ in range(5):
        response = await client.get("/api/v1/auth/me", headers=account.headers)
        assert response.status_code == 200
        assert "X-RateLimit-Limit" not in response.headers


# Policies of several limits ("10/minute;50/hour" in the README; hours and days here, see the module docstring)


@pytest.mark.parametrize(
    ("policy", "tight_window"),
    [("3/hour;5/day", HOUR), ("5/hour;3/day", DAY)],
    ids=["tight-limit-first", "tight-limit-last"],
)
async def test_every_limit_of_a_policy_is_enforced_and_the_tightest_is_reported(
    client: httpx.AsyncClient, app_factory: AppFactory, policy: str, tight_window: int
) -> None:
    account = await register(client)
    started = int(time.time())
    async with app_factory(rate_limit={"enabled": True, "user": policy}) as limited:
        allowed = [await limited.get("/api/v1/auth/me", headers=account.headers) for _ in range(3)]
        assert [response.status_code for response in allowed] == [200, 200, 200]
        # The headers describe the limit that runs out first, wherever it stands in the policy.
        assert [response.headers["X-RateLimit-Limit"] for response in allowed] == ["3", "3", "3"]
        assert [remaining(response) for response in allowed] == [2, 1, 0]

        refused = await limited.get("/api/v1/auth/me", headers=account.headers)
        answered = time.time()
        retry_after = assert_rate_limited(refused, 3, window_seconds=tight_window)
        assert refused.json()["error"]["details"]["limit"] == f"3 per 1 {'hour' if tight_window == HOUR else 'day'}"
        # X-RateLimit-Reset is an epoch time and Retry-After the delay until then, as seen while answering.
        assert started - 1 <= int(refused.headers["X-RateLimit-Reset"]) - retry_after <= answered + 1


# API keys


async def test_api_keys_have_their_own_policy(client: httpx.AsyncClient, app_factory: AppFactory) -> None:
    account = await register(client)
    key = await create_api_key(client, account)
    key_headers = {"X-API-Key": key["secret"]}
    async with app_factory(rate_limit={"enabled": True, "api_key": "2/hour", "user": "50/hour"}) as limited:
        allowed = [await limited.get("/api/v1/auth/me", headers=key_headers) for _ in range(2)]
        for response in allowed:
            assert response.status_code == 200, response.text
            assert response.json()["principal"] == "api_key"
            assert response.headers["X-RateLimit-Limit"] == "2"
        assert [remaining(response) for response in allowed] == [1, 0]
        assert_rate_limited(await limited.get("/api/v1/auth/me", headers=key_headers), 2)

        # The key's creator is counted separately, under the user policy.
        as_user = await limited.get("/api/v1/auth/me", headers=account.headers)
        assert as_user.status_code == 200
        assert as_user.headers["X-RateLimit-Limit"] == "50"
        assert remaining(as_user) == 49


# Requests without valid credentials


async def test_requests_without_credentials_count_against_the_address(
    client: httpx.AsyncClient, database_url: str
) -> None:
    account = await register(client)
    overrides = {"rate_limit": {"enabled": True, "anonymous": "3/hour", "user": "50/hour"}}
    async with clients_on_one_app(database_url, ["10.1.0.1", "10.1.0.2"], **overrides) as (here, elsewhere):
        missing = await here.get("/api/v1/auth/me")
        assert missing.status_code == 401
        assert missing.headers["X-RateLimit-Limit"] == "3"
        assert remaining(missing) == 2

        forged = await here.get("/api/v1/auth/me", headers={"Authorization": "Bearer forged.token.value"})
        assert forged.status_code == 401
        assert remaining(forged) == 1

        unknown_key = await here.get("/api/v1/auth/me", headers={"X-API-Key": "folio_" + "z" * 43})
        assert unknown_key.status_code == 401
        assert remaining(unknown_key) == 0

        assert_rate_limited(await here.get("/api/v1/auth/me"), 3)
        assert_rate_limited(await here.get("/api/v1/auth/me", headers={"Authorization": "Bearer x.y.z"}), 3)

        # Another address has its own counter, and valid credentials are not counted as anonymous.
        assert (await elsewhere.get("/api/v1/auth/me")).status_code == 401
        valid = await here.get("/api/v1/auth/me", headers=account.headers)
        assert valid.status_code == 200
        assert valid.headers["X-RateLimit-Limit"] == "50"


async def test_each_policy_has_its_own_budget_for_one_address(client: httpx.AsyncClient, database_url: str) -> None:
    """Anonymous requests and login attempts both count against the address, at equal rates, but never each other's."""
    account = await register(client)
    login = {"email": account.email, "password": account.password}
    overrides = {"rate_limit": {"enabled": True, "anonymous": "3/hour", "auth": "3/hour"}}
    async with clients_on_one_app(database_url, ["10.3.0.1", "10.3.0.2"], **overrides) as (browsing, signing_in):
        for _ in range(3):
            assert (await browsing.get("/api/v1/auth/me")).status_code == 401
        assert_rate_limited(await browsing.get("/api/v1/auth/me"), 3)

        after_anonymous = await browsing.post("/api/v1/auth/login", json=login)
        assert after_anonymous.status_code == 200, after_anonymous.text
        assert remaining(after_anonymous) == 2

        for _ in range(3):
            assert (await signing_in.post("/api/v1/auth/login", json=login)).status_code == 200
        assert_rate_limited(await signing_in.post("/api/v1/auth/login", json=login), 3)

        after_logins = await signing_in.get("/api/v1/auth/me")
        assert after_logins.status_code == 401
        assert remaining(after_logins) == 2


# Login and registration


async def test_login_attempts_are_limited_per_address(client: httpx.AsyncClient, database_url: str) -> None:
    account = await register(client)
    overrides = {"rate_limit": {"enabled": True, "auth": "2/hour"}}
    async with clients_on_one_app(database_url, ["10.2.0.1", "10.2.0.2"], **overrides) as (here, elsewhere):
        for _ in range(2):
            wrong = await here.post("/api/v1/auth/login", json={"email": account.email, "password": "wrong guess 1"})
            assert wrong.status_code == 401
            assert wrong.json()["error"]["code"] == "INVALID_CREDENTIALS"
            assert wrong.headers["X-RateLimit-Limit"] == "2"

        third_wrong = await here.post("/api/v1/auth/login", json={"email": account.email, "password": "wrong guess"})
        assert_rate_limited(third_wrong, 2)
        right = await here.post("/api/v1/auth/login", json={"email": account.email, "password": account.password})
        assert_rate_limited(right, 2)
        # Registration shares the strict policy of the address.
        signup = await here.post(
            "/api/v1/auth/register", json={"email": "late@example.com", "password": account.password, "name": "Late"}
        )
        assert_rate_limited(signup, 2)

        other_address = await elsewhere.post(
            "/api/v1/auth/login", json={"email": account.email, "password": account.password}
        )
        assert other_address.status_code == 200, other_address.text


async def test_registration_attempts_are_limited(app_factory: AppFactory) -> None:
    async with app_factory(rate_limit={"enabled": True, "auth": "2/hour"}) as limited:
        payload = {"password": "a sturdy passphrase 42", "name": "Signup"}
        first = await limited.post("/api/v1/auth/register", json={**payload, "email": "signup1@example.com"})
        assert first.status_code == 201, first.text
        assert remaining(first) == 1
        invalid = await limited.post("/api/v1/auth/register", json={"email": "signup2@example.com"})
        assert invalid.status_code == 422
        assert_rate_limited(await limited.post("/api/v1/auth/register", json={**payload, "email": "s3@example.com"}), 2)


# Redis


@pytest.fixture
async def redis_url() -> AsyncIterator[str]:
    """The test Redis database, emptied before and after (FLUSHDB on that database only)."""
    redis = Redis.from_url(REDIS_URL)
    try:
        await redis.flushdb()
        yield REDIS_URL
        await redis.flushdb()
    finally:
        await redis.aclose()


async def test_redis_counters_are_shared_between_apps(
    client: httpx.AsyncClient, app_factory: AppFactory, redis_url: str
) -> None:
    account = await register(client)
    overrides = {"redis_url": redis_url, "rate_limit": {"enabled": True, "user": "3/hour"}}
    async with app_factory(**overrides) as first, app_factory(**overrides) as second:
        one = await first.get("/api/v1/auth/me", headers=account.headers)
        two = await first.get("/api/v1/auth/me", headers=account.headers)
        three = await second.get("/api/v1/auth/me", headers=account.headers)
        assert [r.status_code for r in (one, two, three)] == [200, 200, 200]
        assert [remaining(r) for r in (one, two, three)] == [2, 1, 0]

        assert_rate_limited(await second.get("/api/v1/auth/me", headers=account.headers), 3)
        assert_rate_limited(await first.get("/api/v1/auth/me", headers=account.headers), 3)


async def test_redis_counters_are_in_redis(client: httpx.AsyncClient, app_factory: AppFactory, redis_url: str) -> None:
    account = await register(client)
    async with app_factory(redis_url=redis_url, rate_limit={"enabled": True, "user": "3/hour"}) as limited:
        assert (await limited.get("/api/v1/auth/me", headers=account.headers)).status_code == 200
    redis = Redis.from_url(redis_url)
    try:
        keys = [key.decode() if isinstance(key, bytes) else key for key in await redis.keys("*")]
    finally:
        await redis.aclose()
    assert any(str(account.user_id) in key for key in keys), keys


async def test_limiter_reset_clears_redis_counters(
    client: httpx.AsyncClient, database_url: str, redis_url: str
) -> None:
    account = await register(client)
    overrides = {"redis_url": redis_url, "rate_limit": {"enabled": True, "user": "1/hour"}}
    application = create_app(make_settings(database_url, **overrides))
    async with (
        application.router.lifespan_context(application),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=application), base_url="http://testserver") as limited,
    ):
        assert (await limited.get("/api/v1/auth/me", headers=account.headers)).status_code == 200
        assert_rate_limited(await limited.get("/api/v1/auth/me", headers=account.headers), 1)
        await application.state.rate_limiter.reset()
        assert (await limited.get("/api/v1/auth/me", headers=account.headers)).status_code == 200


async def _connections_to(redis: Redis, db: int) -> int:
    return sum(1 for entry in await redis.client_list() if entry.get("db") == str(db))


async def test_shutdown_closes_the_rate_limit_redis_connections(
    client: httpx.AsyncClient, database_url: str, redis_url: str
) -> None:
    account = await register(client)
    observer = Redis.from_url(redis_url)
    db = observer.connection_pool.connection_kwargs.get("db", 0)
    try:
        before = await _connections_to(observer, db)
        application = create_app(
            make_settings(database_url, redis_url=redis_url, rate_limit={"enabled": True, "user": "5/hour"})
        )
        async with (
            application.router.lifespan_context(application),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=application), base_url="http://testserver") as http,
        ):
            response = await http.get("/api/v1/auth/me", headers=account.headers)
            assert response.headers["X-RateLimit-Remaining"] == "4"
            assert await _connections_to(observer, db) > before
        # The app has shut down but is still referenced, so garbage collection has closed nothing yet.
        leaked = await _connections_to(observer, db) - before
        del application, http
        gc.collect()
        assert leaked == 0, f"{leaked} Redis connection(s) left open after the app shut down"
    finally:
        await observer.aclose()


# Failing open


def storage_errors() -> float:
    return REGISTRY.get_sample_value("folio_rate_limit_storage_errors_total") or 0.0


@asynccontextmanager
async def silent_redis() -> AsyncIterator[tuple[str, list[int]]]:
    """A TCP server on 127.0.0.1 that accepts connections and reads them, and never answers: a hung Redis.

    Yields its URL and a list holding the number of connections accepted (so a test can tell it was reached).
    """
    accepted = [0]
    writers: list[asyncio.StreamWriter] = []

    async def swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted[0] += 1
        writers.append(writer)
        while await reader.read(65536):
            pass
        writer.close()

    server = await asyncio.start_server(swallow, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"redis://127.0.0.1:{port}/0", accepted
    finally:
        server.close()
        for writer in writers:
            writer.close()
        await server.wait_closed()
        await asyncio.gather(*(writer.wait_closed() for writer in writers), return_exceptions=True)


async def test_unreachable_redis_fails_open(
    client: httpx.AsyncClient, app_factory: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    account: Account = await register(client)
    before = storage_errors()
    caplog.set_level(logging.WARNING)
    async with app_factory(redis_url=UNREACHABLE_REDIS_URL, rate_limit={"enabled": True, "user": "1/hour"}) as app:
        responses = [await app.get("/api/v1/auth/me", headers=account.headers) for _ in range(3)]
    assert [response.status_code for response in responses] == [200, 200, 200]
    assert storage_errors() >= before + 3
    warnings = [
        record
        for record in caplog.records
        if record.levelno == logging.WARNING and "rate_limit_storage_unavailable" in record.getMessage()
    ]
    assert len(warnings) >= 3


async def test_a_redis_that_never_answers_fails_open_within_the_limiters_own_timeout(
    client: httpx.AsyncClient, app_factory: AppFactory
) -> None:
    """Redis accepts the connection and then says nothing: only socket timeouts end the wait.

    The limiter's are 0.25 s. Without them redis-py's default of 5 s applies (in redis-py 8; none in older
    versions), so the only difference the limiter's own timeouts make is time: each request must be answered in
    under half of redis-py's default, ten times what the limiter's timeout needs.
    """
    account: Account = await register(client)
    before = storage_errors()
    async with (
        silent_redis() as (url, accepted),
        app_factory(redis_url=url, rate_limit={"enabled": True, "user": "1/hour"}) as app,
    ):
        responses = [
            await asyncio.wait_for(app.get("/api/v1/auth/me", headers=account.headers), timeout=2.5) for _ in range(3)
        ]
    assert [response.status_code for response in responses] == [200, 200, 200]
    assert all("X-RateLimit-Limit" not in response.headers for response in responses)
    assert accepted[0] >= 1
    assert storage_errors() >= before + 3


# The in-process counter against the library's own


class FrozenTime:
    """`time.time()` for the library's modules, moved by the test."""

    def __init__(self, now: float) -> None:
        self.now = now

    def time(self) -> float:
        return self.now


@settings(max_examples=60, deadline=None)
@given(
    limit=st.sampled_from(["3/second", "5/10 seconds", "4/minute"]),
    steps=st.lists(st.tuples(st.floats(0, 25), st.sampled_from(["alice", "bob"])), min_size=1, max_size=40),
)
async def test_memory_windows_count_as_the_librarys_sliding_window_counter(
    limit: str, steps: list[tuple[float, str]]
) -> None:
    """Same hits at the same moments: the same answers, remaining counts and reset times as `limits` with its own
    memory storage."""
    item = parse(limit)
    clock = FrozenTime(1_800_000_000.25)
    library = SlidingWindowCounterRateLimiter(MemoryStorage())
    ours = MemoryWindows()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(limits_memory, "time", clock)
        patch.setattr(limits_strategies, "time", clock)
        for advance, identity in steps:
            clock.now += advance
            allowed, window = ours.hit(item, Policy.USER, identity, clock.now)
            assert allowed == await library.hit(item, Policy.USER.value, identity)
            stats = await library.get_window_stats(item, Policy.USER.value, identity)
            assert window.remaining == stats.remaining
            assert window.reset_at == pytest.approx(stats.reset_time)


def test_memory_windows_forget_counters_two_windows_old() -> None:
    item = parse("5/second")
    ours = MemoryWindows()
    for number in range(2000):
        ours.hit(item, Policy.USER, f"user-{number}", 1_800_000_000.0)

    for _ in range(2000):
        ours.hit(item, Policy.USER, "late", 1_800_000_010.0)

    assert len(ours._counters) == 1


# The one-call Redis script against the library's own strategy (a hit, then a read of the window)

# What may separate our call from the library's, and either from the seeding of Redis, in milliseconds (a loaded
# machine): the windows are hours, so that states this close to a step of `floor` or `%` are few and skipped.
_DRIFT_MS = 1000


def _clear_of_steps(value: float, period: float, margin: float = _DRIFT_MS) -> bool:
    """Whether `value` is more than `margin` away from every multiple of `period` (where `floor` and `%` step, and
    two reads of the TTLs a moment apart could disagree)."""
    offset = value % period
    return margin < offset < period - margin


@st.composite
def sliding_windows(draw: st.DrawFn) -> tuple[str, int, int | None, int | None, int]:
    """A limit and counters as the sliding window counter leaves them: none; a current window alone (TTL up to two
    windows, shifted at the next hit once under one); or a previous window with the current one a window longer."""
    limit = draw(st.sampled_from(["3/hour", "10/hour", "50/2 hours"]))
    expiry_ms = parse(limit).get_expiry() * 1000
    shape = draw(st.sampled_from(["none", "current", "both"]))
    if shape == "none":
        return limit, 0, None, None, 0
    current = draw(st.integers(0, 60))
    if shape == "current":
        current_ms = draw(st.integers(1, 2 * expiry_ms))
        assume(_clear_of_steps(current_ms, expiry_ms))
        if current_ms < expiry_ms and current:  # shifted by the hit: it becomes the previous window
            assume(_clear_of_steps(current_ms, expiry_ms / current))
            assume(_clear_of_steps(current * current_ms, expiry_ms, margin=current * _DRIFT_MS))
        return limit, current, current_ms, None, 0
    previous = draw(st.integers(1, 60))
    previous_ms = draw(st.integers(_DRIFT_MS + 1, expiry_ms - _DRIFT_MS - 1))
    assume(_clear_of_steps(previous_ms, expiry_ms / previous))
    assume(_clear_of_steps(previous * previous_ms, expiry_ms, margin=previous * _DRIFT_MS))
    return limit, current, previous_ms + expiry_ms, previous_ms, previous


@settings(max_examples=60, deadline=None)
@given(state=sliding_windows())
async def test_the_redis_script_counts_as_the_librarys_sliding_window_counter(
    state: tuple[str, int, int | None, int | None, int],
) -> None:
    """From the same counters, one hit through the limiter's script and one through `limits`' own strategy (its
    hit, then its window stats: two round trips) give the same answer, the same window and the same counters."""
    limit, current, current_ms, previous_ms, previous = state
    item = parse(limit)
    limiter = RateLimiter(RateLimitSettings(user=limit), REDIS_URL)
    assert limiter.storage is not None
    library = SlidingWindowCounterRateLimiter(limiter.storage)
    redis = Redis.from_url(REDIS_URL)
    identity = f"property-{uuid4()}"
    key = item.key_for(Policy.USER.value, identity)
    keys = [limiter.storage.bridge.prefixed_key(f"{{{key}}}/-1"), limiter.storage.bridge.prefixed_key(f"{{{key}}}")]

    async def seed() -> None:
        await redis.delete(*keys)
        if previous_ms is not None:
            await redis.set(keys[0], previous, px=previous_ms)
        if current_ms is not None:
            await redis.set(keys[1], current, px=current_ms)

    async def counters() -> list[tuple[int, int]]:
        return [(int(await redis.get(name) or 0), max(await redis.pttl(name), 0)) for name in keys]

    try:
        await seed()
        called_at = time.time()
        try:
            window = await limiter.hit(Policy.USER, identity)
        except RateLimitExceeded:
            window = None
        ours = await counters()
        await seed()
        allowed = await library.hit(item, Policy.USER.value, identity)
        stats = await library.get_window_stats(item, Policy.USER.value, identity)
        theirs = await counters()
    finally:
        await redis.delete(*keys)
        await redis.aclose()
        await limiter.close()

    assert (window is not None) == allowed
    assert [count for count, _ in ours] == [count for count, _ in theirs]
    assert all(abs(mine - its) < 2 * _DRIFT_MS for (_, mine), (_, its) in zip(ours, theirs, strict=True))
    if window is None:
        return  # refused: the 429 reports the refusing window, checked by the HTTP tests
    assert window.remaining == stats.remaining
    if current_ms is None:
        # A window this hit opened shifts a whole window from now. (The library reads its TTL in a second call:
        # in the same millisecond, its formula says "now".)
        assert window.reset_at == pytest.approx(called_at + item.get_expiry(), abs=2 * _DRIFT_MS / 1000)
    else:
        assert window.reset_at == pytest.approx(stats.reset_time, abs=2 * _DRIFT_MS / 1000)
