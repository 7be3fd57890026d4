"""Wait for a condition with a deadline instead of sleeping a fixed time.

A test that sleeps "long enough" and then asserts either flakes on a loaded machine or hides
slowness; ``eventually`` polls until the condition holds and fails, naming it, only when the
deadline passes. Deadlines are generous (the machine may be busy); they bound a hang, they are not
a performance claim.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


class NotYet(AssertionError):
    """The condition did not hold before the deadline."""


def eventually(
    condition: Callable[[], T], *, within: float = 10.0, interval: float = 0.02, what: str = ""
) -> T:
    """Poll ``condition`` until it returns a truthy value (returned) or ``within`` seconds pass."""
    deadline = time.monotonic() + within
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise NotYet(f"still not true after {within:g} s: {what or condition!r}")
        time.sleep(interval)


async def eventually_async(
    condition: Callable[[], Awaitable[T]], *, within: float = 10.0, interval: float = 0.02, what: str = ""
) -> T:
    """The same for an async condition (e.g. a database read through sync_to_async)."""
    deadline = time.monotonic() + within
    while True:
        value = await condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise NotYet(f"still not true after {within:g} s: {what or condition!r}")
        await asyncio.sleep(interval)
