"""Password rules and hashing (folio.auth.passwords)."""

from __future__ import annotations

import asyncio
import os
import threading
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from folio.auth import passwords
from folio.auth.errors import WeakPassword
from folio.auth.passwords import check_strength, hash_password, verify_password
from tests.conftest import PRODUCTION_PASSWORD_HASHING
from tests.factories import PASSWORD

# The autouse table-cleaning fixture is function-scoped; it does not interfere with these examples.
_fixtures_ok = [HealthCheck.function_scoped_fixture]


@pytest.fixture(autouse=True)
def _production_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests are about hashing: argon2 at the production parameters, not the cheap ones of conftest."""
    hasher, dummy_hash = PRODUCTION_PASSWORD_HASHING
    monkeypatch.setattr(passwords, "_hasher", hasher)
    monkeypatch.setattr(passwords, "_DUMMY_HASH", dummy_hash)


@settings(max_examples=200, suppress_health_check=_fixtures_ok)
@given(st.text(max_size=9))
def test_passwords_shorter_than_ten_characters_are_refused(password: str) -> None:
    with pytest.raises(WeakPassword):
        check_strength(password)


@settings(max_examples=100, suppress_health_check=_fixtures_ok)
@given(st.text(min_size=129, max_size=300))
def test_passwords_longer_than_128_characters_are_refused(password: str) -> None:
    with pytest.raises(WeakPassword):
        check_strength(password)


@settings(max_examples=100, suppress_health_check=_fixtures_ok)
@given(st.sampled_from([p for p in FREQUENCY_LISTS["passwords"] if 10 <= len(p) <= 128]))
def test_common_passwords_are_refused_in_any_case(password: str) -> None:
    with pytest.raises(WeakPassword):
        check_strength(password)
    with pytest.raises(WeakPassword):
        check_strength(password.upper())


@pytest.mark.parametrize("password", ["aaaaaaaaaaaa", "abababababab", "abcabcabcabcabc", "1111111111"])
def test_passwords_with_fewer_than_four_distinct_characters_are_refused(password: str) -> None:
    with pytest.raises(WeakPassword):
        check_strength(password)


@pytest.mark.parametrize("password", [PASSWORD, "Xk9#pQ2!zW", "correct horse battery staple", "ü" * 6 + "ßçñé"])
def test_reasonable_passwords_are_accepted(password: str) -> None:
    check_strength(password)


@settings(max_examples=100, suppress_health_check=_fixtures_ok)
@given(st.text(alphabet=st.characters(codec="utf-8"), min_size=10, max_size=128).filter(lambda p: len(set(p)) >= 4))
def test_long_varied_uncommon_passwords_are_accepted(password: str) -> None:
    if password.lower() in FREQUENCY_LISTS["passwords"]:
        return
    check_strength(password)


# Each example costs three hashes at the production cost (~0.3 s on CI): 5 keep the property, at a third of the time.
@settings(max_examples=5, deadline=None, suppress_health_check=_fixtures_ok)
@given(password=st.text(min_size=1, max_size=64), other=st.text(min_size=1, max_size=64))
async def test_hash_then_verify_round_trips(password: str, other: str) -> None:
    hashed = await hash_password(password)

    assert hashed.startswith("$argon2id$")
    assert hashed != password
    assert await verify_password(password, hashed)
    if other != password:
        assert not await verify_password(other, hashed)


async def test_hashes_are_salted() -> None:
    first = await hash_password(PASSWORD)
    second = await hash_password(PASSWORD)

    assert first != second
    assert await verify_password(PASSWORD, first)
    assert await verify_password(PASSWORD, second)


async def test_verify_without_a_hash_is_false() -> None:
    """An unknown user has no hash; verification still runs (against a dummy) and fails."""
    assert not await verify_password(PASSWORD, None)
    assert not await verify_password("folio-timing-equaliser", None)


async def test_verify_is_case_sensitive() -> None:
    hashed = await hash_password("Case Sensitive Secret")

    assert await verify_password("Case Sensitive Secret", hashed)
    assert not await verify_password("case sensitive secret", hashed)


async def test_at_most_one_hash_per_core_runs_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 takes 64 MiB per hash: a burst of logins must not run 40 at once in anyio's threads."""
    running = most = 0
    lock = threading.Lock()

    class Counting:
        def hash(self, password: str) -> str:
            nonlocal running, most
            with lock:
                running += 1
                most = max(most, running)
            time.sleep(0.05)
            with lock:
                running -= 1
            return "hashed"

    monkeypatch.setattr(passwords, "_hasher", Counting())
    assert await asyncio.gather(*(hash_password(PASSWORD) for _ in range(12))) == ["hashed"] * 12
    assert most == len(os.sched_getaffinity(0))
