"""Argon2 password hashing (pwdlib), run in a worker thread so the event loop never waits on it."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from functools import lru_cache
from typing import Any, TypeVar

import anyio
from pwdlib import PasswordHash
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from folio.auth.errors import WeakPassword

_T = TypeVar("_T")

MIN_LENGTH = 10
MAX_LENGTH = 128

_hasher = PasswordHash.recommended()
# Verifying against this when the email is unknown makes a failed login take as long either way.
_DUMMY_HASH = _hasher.hash("folio-timing-equaliser")


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    # zxcvbn's list: the 30,000 most frequent passwords from leaked password corpora.
    return frozenset(FREQUENCY_LISTS["passwords"])


def check_strength(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"The password must be at least {MIN_LENGTH} characters long.")
    if len(password) > MAX_LENGTH:
        raise WeakPassword(f"The password must be at most {MAX_LENGTH} characters long.")
    if password.lower() in _common_passwords() or len(set(password)) < 4:
        raise WeakPassword("This password is too common; choose one that is harder to guess.")


# Argon2 takes 64 MiB and a core for about a tenth of a second per hash: one per core at once, so a burst of
# logins waits (in anyio's threads, which cost no memory while they wait) instead of taking 64 MiB apiece.
_HASHING = threading.BoundedSemaphore(len(os.sched_getaffinity(0)))


def _one_at_a_core(work: Callable[..., _T], *args: Any) -> _T:
    with _HASHING:
        return work(*args)


async def hash_password(password: str) -> str:
    return await anyio.to_thread.run_sync(_one_at_a_core, _hasher.hash, password)


async def verify_password(password: str, password_hash: str | None) -> bool:
    """Constant-shape check: with no hash (unknown user) a dummy hash is verified and False returned."""
    valid = await anyio.to_thread.run_sync(_one_at_a_core, _hasher.verify, password, password_hash or _DUMMY_HASH)
    return valid and password_hash is not None
