"""Crash-point injection: kill the process with SIGKILL at a named place, for durability tests.

Every crash point in the code base is declared in :data:`CRASH_POINTS` with a one-line
description, so that a test suite can iterate over all of them. Adding one is one line there plus
one ``crash_point("name")`` call at the place.

The injection is inert unless the environment variable ``SECUREMETER_CRASH_POINT`` is set when
this module is first imported (it is read once). Its format is ``name`` (crash at the first hit)
or ``name@N`` (crash at the N-th hit, counted from process start). When the point fires, the
process sends itself SIGKILL: no ``finally`` block, no ``atexit`` handler and no buffered write
runs, exactly as when an operator or the kernel kills a meter.

This module imports nothing from the package, so that every layer may import it.
"""

from __future__ import annotations

import os
import signal

ENVIRONMENT_VARIABLE = "SECUREMETER_CRASH_POINT"

#: name -> where the process dies when the point fires. Names are ``<area>.<operation>:<moment>``.
CRASH_POINTS: dict[str, str] = {
    "counter.reserve:before-flush": "new outgoing ceiling written to the map, not yet msynced",
    "counter.reserve:after-flush": "new outgoing ceiling msynced, no value of it handed out yet",
    "counter.accept:after-write": "incoming counter written to the map, accept() not returned",
    "log.append:before-commit": "a log record is inserted, its transaction is not committed",
    "log.append:after-commit": "a log record is committed, append() has not returned its sequence",
    "state.put:before-commit": "a state blob is written, its transaction is not committed",
    "state.put:after-commit": "a state blob is committed, put() has not returned",
    "keys.put:after-commit": "key material is committed and synced, put_key() has not returned",
    "transfer.block:after-commit": "an image block is committed, put_block() has not returned",
    "answer:before-send": "an answer is built, its records committed, not yet written to the link",
}


class CrashPointError(RuntimeError):
    """A crash point was misconfigured or is not declared in CRASH_POINTS.

    Not in ``securemeter.errors`` because this module imports nothing from the package.
    """


def _parse(specification: str) -> tuple[str, int]:
    name, separator, count_text = specification.strip().partition("@")
    if name not in CRASH_POINTS:
        raise CrashPointError(
            f"{ENVIRONMENT_VARIABLE}={specification!r} names an undeclared crash point; "
            f"declared: {', '.join(sorted(CRASH_POINTS))}"
        )
    if not separator:
        return name, 1
    if not count_text.isdigit() or int(count_text) < 1:
        raise CrashPointError(
            f"{ENVIRONMENT_VARIABLE}={specification!r}: the hit count after '@' must be an "
            "integer >= 1"
        )
    return name, int(count_text)


_specification = os.environ.get(ENVIRONMENT_VARIABLE)
# None when disabled: crash_point() then costs one global lookup and a compare.
_armed: tuple[str, int] | None = _parse(_specification) if _specification else None
_hits = 0


def crash_point(name: str) -> None:
    """Die here with SIGKILL if this point is the armed one and its hit count is reached."""
    if _armed is None:
        return
    _fire_if_due(name)


def _fire_if_due(name: str) -> None:
    global _hits
    if name not in CRASH_POINTS:
        raise CrashPointError(f"crash point {name!r} is not declared in CRASH_POINTS")
    assert _armed is not None
    armed_name, armed_count = _armed
    if name != armed_name:
        return
    _hits += 1
    if _hits >= armed_count:
        os.kill(os.getpid(), signal.SIGKILL)


def armed() -> tuple[str, int] | None:
    """The armed point and the hit at which it fires, or None when injection is disabled."""
    return _armed
