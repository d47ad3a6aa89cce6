"""Port lockout: an interface that sees repeated unauthorized attempts refuses new associations.

The rule (docs/ACCESS.md), per interface:

* A *counted failure* is a session refusal marked ``counts_as_failure`` (wrong password or keys,
  bad f(StoC), unknown SAP, protection below policy, a role or user not allowed, deciphering
  or replay failures inside an association), except the meter's own exhausted counter.
  Refused operations inside a valid association and link-level noise never get here.
* ``failures`` counted failures within ``window`` seconds lock the interface: every new
  association, for every role, is refused (rejected-transient AARE) for the lockout time.
  Associations established before keep working; other interfaces are not affected.
* The lockout time starts at ``lockout_time`` and doubles with each lockout up to
  ``max_lockout_time``; a lockout that starts ``quiet_period`` seconds or more after the end
  of the previous one starts from the first step again.
* Failures while the interface is locked are not counted (they cannot extend the lockout),
  nor are they while lockout is switched off.

Time is the meter's monotonic time, never the COSEM clock: setting the clock never shortens a
lockout. The state survives a restart: the store keeps it in elapsed-time terms (seconds left,
ages of the failures), committed at every counted failure, power-loss durable when a lockout
starts, ends or is lifted, refreshed every minute while locked and at a clean stop. Time while
the meter is stopped does not count: a restart resumes the remaining lockout as last saved.

Sans-IO: the caller supplies monotonic time (a callable) and the store's ``StateStore``.
"""

from __future__ import annotations

import json
import logging
import math
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Final

from securemeter.codec.axdr import Data
from securemeter.codec.obis import Obis
from securemeter.cosem.interface_lockout import (
    INTERFACE_LOCKOUT_CLASS_ID,
    InterfaceLockout,
    LockoutReading,
    LockoutState,
)
from securemeter.errors import StorageError
from securemeter.meter.config import Interface, LockoutSettings, MeterConfig
from securemeter.meter.logbook import SECURITY, EventCode, Logbook
from securemeter.session.events import Refusal, Reply, Silence
from securemeter.storage.base import FieldValue, StateStore

log = logging.getLogger("securemeter.meter")

# e in 0.0.96.128.e.255, the manufacturer-specific OBIS code of each interface's lockout object.
INTERFACE_INSTANCE: Final[Mapping[Interface, int]] = {Interface.TCP: 0, Interface.OPTICAL: 1}
STATE_KEY_PREFIX: Final = "lockout."
# Refusals marked counts_as_failure that are no attempt at all: the meter's own key is spent.
NEVER_COUNTED: Final = frozenset({Refusal.COUNTER_EXHAUSTED})
SAVE_INTERVAL: Final = 60.0  # seconds between saves of a running lockout
_MAX_STEP: Final = 64  # 2**64 times any positive lockout time exceeds any maximum


def lockout_name(interface: Interface) -> Obis:
    """The OBIS code of the lockout object of ``interface``."""
    return Obis(0, 0, 96, 128, INTERFACE_INSTANCE[interface], 255)


def lockout_objects() -> tuple[tuple[Obis, int], ...]:
    """(logical name, class id) of the lockout objects every meter serves."""
    return tuple((lockout_name(interface), INTERFACE_LOCKOUT_CLASS_ID) for interface in Interface)


def counts_as_failure(event: Reply | Silence) -> bool:
    """Whether a session refusal counts toward the lockout of its interface."""
    return event.counts_as_failure and event.refusal not in NEVER_COUNTED


def state_key(interface: Interface) -> str:
    return f"{STATE_KEY_PREFIX}{interface.value}"


# ----------------------------------------------------------------------------- the stored form


@dataclass(frozen=True, slots=True)
class LockoutSnapshot:
    """One interface's lockout in elapsed-time terms: what the store keeps across restarts."""

    failure_ages: tuple[float, ...] = ()  # seconds since each counted failure in the window
    remaining: float = 0.0  # seconds of lockout left; 0 when not locked
    step: int = 0  # the next lockout lasts lockout_time * 2**step (before the maximum)
    since_last_end: float | None = None  # seconds since the last lockout ended, None if never
    lockout_count: int = 0

    def to_bytes(self) -> bytes:
        return json.dumps(
            {
                "version": 1,
                "failure_ages": list(self.failure_ages),
                "remaining": self.remaining,
                "step": self.step,
                "since_last_end": self.since_last_end,
                "lockout_count": self.lockout_count,
            },
            sort_keys=True,
        ).encode("ascii")

    @classmethod
    def from_bytes(cls, raw: bytes) -> LockoutSnapshot:
        """Parse a stored snapshot; StorageError if it is not one."""
        try:
            record = json.loads(raw.decode("ascii"))
            if not isinstance(record, dict) or record.get("version") != 1:
                raise ValueError("not a version 1 lockout record")
            ages = tuple(_seconds(age) for age in record["failure_ages"])
            since = record["since_last_end"]
            snapshot = cls(
                failure_ages=ages,
                remaining=_seconds(record["remaining"]),
                step=_count(record["step"]),
                since_last_end=None if since is None else _seconds(since),
                lockout_count=_count(record["lockout_count"]),
            )
        except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
            raise StorageError(
                f"the stored lockout state is unreadable ({exc}); reset it with "
                "`securemeter meter unlock` while the meter is stopped"
            ) from None
        return snapshot


def _seconds(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"expected seconds, got {value!r}")
    seconds = float(value)
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"expected non-negative seconds, got {value!r}")
    return seconds


def _count(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"expected a count, got {value!r}")
    return value


def load_snapshot(state: StateStore, interface: Interface) -> LockoutSnapshot:
    raw = state.get(state_key(interface))
    return LockoutSnapshot() if raw is None else LockoutSnapshot.from_bytes(raw)


def lift_stored(state: StateStore, interface: Interface) -> tuple[LockoutSnapshot | None, bool]:
    """Lift a lockout in the store of a stopped meter (``securemeter meter unlock``).

    Returns the snapshot found (None if it was unreadable, in which case it is replaced by a
    fresh one) and whether a lockout was in force. Power-loss durable on return.
    """
    try:
        before: LockoutSnapshot | None = load_snapshot(state, interface)
    except StorageError:
        before = None
    if before is None:
        after = LockoutSnapshot()
        locked = False
    else:
        locked = before.remaining > 0
        # A lift ends the lockout now; the escalation step stays until a quiet period passed.
        after = replace(
            before,
            failure_ages=(),
            remaining=0.0,
            since_last_end=0.0 if locked else before.since_last_end,
        )
    state.put(state_key(interface), after.to_bytes(), durable=True)
    return before, locked


# ----------------------------------------------------------------------------- one interface


class PortLockout:
    """The lockout rule of one interface; every call takes the monotonic time ``now``."""

    def __init__(self, settings: LockoutSettings, snapshot: LockoutSnapshot, now: float) -> None:
        self.settings = settings
        self._failures: deque[float] = deque(now - age for age in sorted(snapshot.failure_ages))
        self._locked_until: float | None = now + snapshot.remaining if snapshot.remaining else None
        self._step = snapshot.step
        self._last_end = None if snapshot.since_last_end is None else now - snapshot.since_last_end
        self.lockout_count = snapshot.lockout_count

    @property
    def enabled(self) -> bool:
        return self.settings.enabled

    def locked(self, now: float) -> bool:
        until = self._locked_until
        return self.enabled and until is not None and now < until

    def remaining(self, now: float) -> float:
        until = self._locked_until
        return max(until - now, 0.0) if self.enabled and until is not None else 0.0

    def expire(self, now: float) -> bool:
        """End a lockout whose time is up; True if one ended with this call."""
        until = self._locked_until
        if not self.enabled or until is None or now < until:
            return False  # switched off: a stored lockout is left alone (a lift clears it)
        self._locked_until = None
        self._last_end = until  # it ended when its time was up, not when someone noticed
        return True

    def failure(self, now: float) -> float | None:
        """Count one failure; the lockout time in seconds if this failure started a lockout."""
        if not self.enabled or self.locked(now):
            return None
        window = self.settings.window
        while self._failures and now - self._failures[0] > window:
            self._failures.popleft()
        self._failures.append(now)
        if len(self._failures) < self.settings.failures:
            return None
        return self._lock(now)

    def _lock(self, now: float) -> float:
        last_end = self._last_end
        if last_end is not None and now - last_end >= self.settings.quiet_period:
            self._step = 0
        factor = float(2 ** min(self._step, _MAX_STEP))
        duration = min(self.settings.lockout_time * factor, self.settings.max_lockout_time)
        self._step += 1
        self._locked_until = now + duration
        self._failures.clear()
        self.lockout_count += 1
        return duration

    def lift(self, now: float) -> bool:
        """End a lockout now and forget the failures; True if a lockout was in force."""
        was_locked = self._locked_until is not None and now < self._locked_until
        if was_locked:
            self._last_end = now
        self._locked_until = None
        self._failures.clear()
        return was_locked

    def failures(self, now: float) -> int:
        window = self.settings.window
        return sum(1 for when in self._failures if now - when <= window)

    def reading(self, now: float) -> LockoutReading:
        if not self.enabled:
            state = LockoutState.DISABLED
        elif self.locked(now):
            state = LockoutState.LOCKED
        else:
            state = LockoutState.UNLOCKED
        return LockoutReading(
            state=state,
            failed_attempts=self.failures(now) if self.enabled else 0,
            remaining_lockout_time=math.ceil(self.remaining(now)),
            lockout_count=self.lockout_count,
        )

    def snapshot(self, now: float) -> LockoutSnapshot:
        until = self._locked_until
        return LockoutSnapshot(
            failure_ages=tuple(max(now - when, 0.0) for when in self._failures),
            remaining=max(until - now, 0.0) if until is not None else 0.0,
            step=self._step,
            since_last_end=None if self._last_end is None else max(now - self._last_end, 0.0),
            lockout_count=self.lockout_count,
        )


# ----------------------------------------------------------------------------- all interfaces


class Lockouts:
    """The lockout of every interface, its COSEM objects and its security records."""

    def __init__(
        self,
        config: MeterConfig,
        state: StateStore,
        monotonic: Callable[[], float],
        logbook: Logbook,
        *,
        who: Callable[[], Mapping[str, FieldValue]] = dict,
    ) -> None:
        self._state = state
        self._monotonic = monotonic
        self._logbook = logbook
        self._who = who
        now = monotonic()
        self._ports = {
            interface: PortLockout(
                config.interface(interface).lockout, load_snapshot(state, interface), now
            )
            for interface in Interface
        }
        self._saved_at = dict.fromkeys(Interface, now)
        self._refused = dict.fromkeys(Interface, 0)  # associations refused during the lockout
        self.objects: dict[Obis, InterfaceLockout] = {
            lockout_name(interface): self._lockout_object(interface) for interface in Interface
        }

    def _lockout_object(self, interface: Interface) -> InterfaceLockout:
        def lift(parameter: Data) -> Data | None:
            self.lift(interface, self._who())
            return None

        return InterfaceLockout(
            lockout_name(interface), reading=lambda: self.reading(interface), lift=lift
        )

    # -- queries

    def locked(self, interface: Interface) -> bool:
        now = self._monotonic()
        self._expire(interface, now)
        return self._ports[interface].locked(now)

    def reading(self, interface: Interface) -> LockoutReading:
        now = self._monotonic()
        self._expire(interface, now)
        return self._ports[interface].reading(now)

    # -- events

    def failure(self, interface: Interface, refusal: Refusal | None, remote: str) -> None:
        """A counted failure on ``interface``; may start a lockout (recorded, durable)."""
        now = self._monotonic()
        self._expire(interface, now)
        port = self._ports[interface]
        duration = port.failure(now)
        if duration is None:
            if port.enabled and not port.locked(now):
                self._save(interface, now, durable=False)
            return
        self._save(interface, now, durable=True)
        self._refused[interface] = 0
        self._logbook.record(
            SECURITY,
            EventCode.INTERFACE_LOCKED,
            interface=interface.value,
            remote=remote,
            reason=refusal.value if refusal is not None else None,
            failures=port.settings.failures,
            duration_ms=round(duration * 1000),
            lockout_count=port.lockout_count,
        )
        log.warning(
            "%s locked for %g s after %d failures (last: %s from %s)",
            interface.value,
            duration,
            port.settings.failures,
            refusal.value if refusal is not None else "?",
            remote,
        )

    def refused_while_locked(self, interface: Interface) -> None:
        """An association refused because ``interface`` is locked (counted for the record
        that ends the lockout; the refusal's own record is the session's)."""
        self._refused[interface] += 1

    def lift(self, interface: Interface, who: Mapping[str, FieldValue]) -> bool:
        """Lift the lockout of ``interface`` (the lift method, by ``who``); recorded, durable."""
        now = self._monotonic()
        self._expire(interface, now)
        refused = self._refused[interface]
        was_locked = self._ports[interface].lift(now)
        self._save(interface, now, durable=True)
        self._refused[interface] = 0
        # "interface" names the locked interface; the lifter's own interface becomes "via".
        fields: dict[str, FieldValue] = {**who, "via": who.get("interface")}
        fields.update(
            interface=interface.value,
            was_locked=int(was_locked),
            refused=refused,
        )
        self._logbook.record(SECURITY, EventCode.INTERFACE_LOCKOUT_LIFTED, **fields)
        log.warning("%s lockout lifted (was locked: %s)", interface.value, was_locked)
        return was_locked

    def tick(self) -> None:
        """Periodic work: end lockouts whose time is up; save running ones every minute."""
        now = self._monotonic()
        for interface, port in self._ports.items():
            self._expire(interface, now)
            if port.locked(now) and now - self._saved_at[interface] >= SAVE_INTERVAL:
                self._save(interface, now, durable=False)

    def save(self) -> None:
        """Save every interface's state (a clean stop): power-loss durable."""
        now = self._monotonic()
        for interface in Interface:
            self._expire(interface, now)
            if self._ports[interface].enabled:
                self._save(interface, now, durable=True)

    # -- internals

    def _expire(self, interface: Interface, now: float) -> None:
        port = self._ports[interface]
        if not port.expire(now):
            return
        self._save(interface, now, durable=True)
        refused = self._refused[interface]
        self._refused[interface] = 0
        self._logbook.record(
            SECURITY,
            EventCode.INTERFACE_UNLOCKED,
            interface=interface.value,
            refused=refused,
            lockout_count=port.lockout_count,
        )
        log.info("%s lockout ended", interface.value)

    def _save(self, interface: Interface, now: float, *, durable: bool) -> None:
        snapshot = self._ports[interface].snapshot(now)
        self._state.put(state_key(interface), snapshot.to_bytes(), durable=durable)
        self._saved_at[interface] = now
