"""Key management of the meter's roles: EK generations, key_transfer, security_activate and the
invocation counter rules that depend on them (docs/SECURITY.md, "Key management").

Besides its key material (``store.keys``, owner ``sap<N>``: ``ek``, ``ak``, ``kek``), each role
with keys has one small state blob in ``store.state`` (``security.sap<N>``):

* the **EK generation**: part of the invocation counter key id ``sap<N>/ek/<generation>``, so a
  new EK starts a fresh counter space and the old one's counters are retired (tombstoned);
* the **security policy**, the single source of truth for the role's Security setup attribute
  and for its associations, and the configured policy it was last reconciled with;
* generations whose counters still await retirement, and whether the current EK's outgoing
  counter ran out.

Keys and policy are read from here when an association starts, so a change applies from the
role's next association; the association that made it, and any association of the target role
still running, keep the keys and policy they started with.

A key transfer is applied through a journal blob (``security.sap<N>.pending``) written before
the first key and deleted after the last, and completed at the next start if the meter died
in between: either every key of a transfer is installed or, as far as the head-end can tell,
none (no answer left the meter).
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, replace
from typing import NoReturn

from securemeter.codec.axdr import Data, Enum
from securemeter.codec.obis import Obis
from securemeter.cosem.association_ln import CURRENT_ASSOCIATION
from securemeter.cosem.base import CosemObject, ObjectError, ObjectResult, expect
from securemeter.errors import AuthenticationFailed, CounterExhausted, DecodeError, StorageError
from securemeter.meter.access import RoleRights
from securemeter.meter.config import RoleConfig
from securemeter.meter.credentials import RoleCredentials, load_credentials, owner
from securemeter.meter.logbook import SECURITY, STANDARD, EventCode, Logbook
from securemeter.security.keywrap import KeyId, decode_key_transfer, unwrap_key
from securemeter.security.policy import SecurityPolicy, decode_security_policy, is_strengthening
from securemeter.session.events import Refusal
from securemeter.session.protection import SecurityContext
from securemeter.storage.base import INVOCATION_COUNTER_LIMIT, FieldValue, MeterStore

log = logging.getLogger("securemeter.meter.keys")

KEY_LENGTH = 16  # suite 0: AES-128
FIRST_GENERATION = 1  # the counter key id of a role's first EK is sap<N>/ek/1
ENCRYPTION_KEY = "ek"
AUTHENTICATION_KEY = "ak"
MASTER_KEY = "kek"
# key_transfer key ids -> names in the key store; the broadcast key (1) is not served here.
STORE_NAMES: Mapping[KeyId, str] = {
    KeyId.GLOBAL_UNICAST_ENCRYPTION: ENCRYPTION_KEY,
    KeyId.AUTHENTICATION: AUTHENTICATION_KEY,
    KeyId.MASTER: MASTER_KEY,
}
_ALL_KEY_NAMES = (ENCRYPTION_KEY, AUTHENTICATION_KEY, MASTER_KEY)

# Association LN method 1 (HLS pass 3) is the one method a read-only role may hold.
_ASSOCIATION_LN_CLASS = 15
_REPLY_TO_HLS_AUTHENTICATION = 1
_SIGNED = SecurityPolicy.DIGITALLY_SIGNED_REQUEST | SecurityPolicy.DIGITALLY_SIGNED_RESPONSE
# A response protection the policy shows must be one the meter gives: it answers in the
# protection of the request, so each response flag needs its request flag.
_RESPONSE_NEEDS = {
    SecurityPolicy.AUTHENTICATED_RESPONSE: SecurityPolicy.AUTHENTICATED_REQUEST,
    SecurityPolicy.ENCRYPTED_RESPONSE: SecurityPolicy.ENCRYPTED_REQUEST,
}


class Reason:
    """Log reasons of key management refusals (docs/SECURITY.md, "Key management")."""

    MALFORMED = "key-transfer-malformed"
    BROADCAST = "broadcast-key-not-supported"
    UNWRAP = "key-unwrap-failed"
    KEY_SIZE = "key-size"
    REUSED = "key-reused"
    NO_KEYS = "role-without-keys"
    POLICY_MALFORMED = "policy-malformed"
    POLICY_UNSUPPORTED = "policy-not-supported"
    POLICY_WEAKER = "policy-not-stronger"
    ENCRYPT_ONLY = "encrypt-only-on-changing-role"
    COUNTER_EXHAUSTED = "counter-exhausted"
    INCOMPLETE = "key-transfer-incomplete"


@dataclass(frozen=True, slots=True)
class RoleSecurityState:
    """What the store keeps per role besides its key material."""

    ek_generation: int
    policy: SecurityPolicy
    configured_policy: SecurityPolicy  # the configuration's policy at the last reconciliation
    retiring: tuple[int, ...] = ()  # EK generations whose counters are not yet retired
    exhausted_generation: int | None = None  # its outgoing counter reached 2**32-1

    def to_bytes(self) -> bytes:
        return json.dumps(
            {
                "ek_generation": self.ek_generation,
                "policy": int(self.policy),
                "configured_policy": int(self.configured_policy),
                "retiring": list(self.retiring),
                "exhausted_generation": self.exhausted_generation,
            },
            sort_keys=True,
        ).encode()

    @classmethod
    def from_json(cls, record: object) -> RoleSecurityState:
        """The state from its decoded JSON; StorageError if it is not one (fail closed)."""
        try:
            if not isinstance(record, dict):
                raise TypeError("not an object")
            generation = _natural(record["ek_generation"])
            retiring = record["retiring"]
            exhausted = record["exhausted_generation"]
            if not isinstance(retiring, list):
                raise TypeError("retiring is not a list")
            return cls(
                ek_generation=generation,
                policy=decode_security_policy(_natural(record["policy"], low=0)),
                configured_policy=decode_security_policy(
                    _natural(record["configured_policy"], low=0)
                ),
                retiring=tuple(_natural(item) for item in retiring),
                exhausted_generation=None if exhausted is None else _natural(exhausted),
            )
        except (KeyError, TypeError, DecodeError) as exc:
            raise StorageError(f"role security state is corrupt: {exc}") from exc

    @classmethod
    def from_bytes(cls, raw: bytes) -> RoleSecurityState:
        try:
            record = json.loads(raw)
        except ValueError as exc:
            raise StorageError(f"role security state is corrupt: {exc}") from exc
        return cls.from_json(record)


def _natural(value: object, *, low: int = 1) -> int:
    if type(value) is not int or value < low:
        raise TypeError(f"expected an integer >= {low}, got {value!r}")
    return value


@dataclass(frozen=True, slots=True)
class _Journal:
    """A key transfer on its way into the store: the keys and the state that goes with them."""

    keys: tuple[tuple[str, bytes], ...]
    state: RoleSecurityState

    def to_bytes(self) -> bytes:
        return json.dumps(
            {
                "keys": {name: material.hex() for name, material in self.keys},
                "state": json.loads(self.state.to_bytes()),
            }
        ).encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> _Journal:
        try:
            record = json.loads(raw)
            keys = tuple(
                (name, bytes.fromhex(material)) for name, material in record["keys"].items()
            )
            if any(name not in _ALL_KEY_NAMES or len(key) != KEY_LENGTH for name, key in keys):
                raise ValueError("unexpected key")
            state = RoleSecurityState.from_json(record["state"])
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise StorageError(f"pending key transfer is corrupt: {exc}") from exc
        return cls(keys, state)


@dataclass(frozen=True, slots=True)
class AssociationRefusal:
    """Why a role's new associations are refused: its keys are used up or in doubt."""

    refusal: Refusal
    detail: str


def state_name(role: RoleConfig) -> str:
    return f"security.{owner(role)}"


def journal_name(role: RoleConfig) -> str:
    return f"security.{owner(role)}.pending"


def counter_key_id(role: RoleConfig, generation: int) -> str:
    return f"{owner(role)}/ek/{generation}"


def changes_anything(
    role: RoleConfig, rights: RoleRights, objects: Mapping[Obis, CosemObject]
) -> bool:
    """Whether a role may change something: write an attribute a SET can change, or invoke a
    method other than reply_to_HLS_authentication (docs/CONFIGURATION.md, "read-only")."""
    for logical_name, object_rights in rights.objects.items():
        obj = objects.get(
            role.association_name if logical_name == CURRENT_ASSOCIATION else logical_name
        )
        if obj is None:
            continue
        writable = obj.writable_attributes()
        if any(
            object_rights.can_write(index) and index in writable
            for index in object_rights.attributes
        ):
            return True
        for index in object_rights.methods:
            hls_reply = (
                obj.CLASS_ID == _ASSOCIATION_LN_CLASS and index == _REPLY_TO_HLS_AUTHENTICATION
            )
            if object_rights.can_invoke(index) and not hls_reply:
                return True
    return False


class KeyManagement:
    """Keys, counters and policies of the meter's roles, as the store holds them.

    ``credentials`` is the meter's cache of role credentials: refreshed after a transfer.
    ``rights`` and ``objects`` give a role's resolved rights and the meter's objects (asked
    when needed: an encrypt-only policy may be activated only for a read-only role).
    """

    def __init__(
        self,
        store: MeterStore,
        logbook: Logbook,
        roles: Sequence[RoleConfig],
        credentials: MutableMapping[int, RoleCredentials],
        *,
        rights: Mapping[int, RoleRights],
        objects: Callable[[], Mapping[Obis, CosemObject]],
    ) -> None:
        self._store = store
        self._logbook = logbook
        self._roles = tuple(roles)
        self._credentials = credentials
        self._rights = rights
        self._objects = objects
        self._states: dict[int, RoleSecurityState] = {}
        self._incomplete: set[int] = set()  # SAPs whose transfer failed half-way (store error)
        for role in self._roles:
            self._start(role)

    # ------------------------------------------------------------------ start-up

    def _start(self, role: RoleConfig) -> None:
        store = self._store
        pending = store.state.get(journal_name(role))
        if pending is not None:
            journal = _Journal.from_bytes(pending)
            self._complete(role, journal)
            self._record_keys_changed(role, journal, completed_at_start=True)
        raw = store.state.get(state_name(role))
        configured = role.protection.policy
        if raw is None:
            # Nothing changed yet: generation 1 and the configured policy (written on change).
            self._states[role.sap] = RoleSecurityState(FIRST_GENERATION, configured, configured)
            return
        state = RoleSecurityState.from_bytes(raw)
        if state.configured_policy != configured:
            # The configuration itself changed: the one way to lower a policy (logged).
            self._put_state(role, replace(state, policy=configured, configured_policy=configured))
            self._record_policy(role, state.policy, configured, cause="configuration")
        else:
            self._states[role.sap] = state
            if state.policy != configured:
                # Raised by security_activate since: the stored policy wins.
                self._logbook.record(
                    STANDARD,
                    EventCode.CONFIGURATION_CHANGED,
                    **self._about(role),
                    change="security-policy",
                    outcome="stored-policy-kept",
                    old=int(configured),
                    new=int(state.policy),
                )
                log.info(
                    "role %s: stored security policy 0x%02X kept over the configured 0x%02X",
                    role.name,
                    int(state.policy),
                    int(configured),
                )
        self._retire_old_counters(role)

    # ------------------------------------------------------------------ reading

    def state(self, role: RoleConfig) -> RoleSecurityState:
        return self._states[role.sap]

    def generation(self, role: RoleConfig) -> int:
        return self._states[role.sap].ek_generation

    def counter_key(self, role: RoleConfig) -> str:
        """The invocation counter key id of the role's current EK."""
        return counter_key_id(role, self.generation(role))

    def policy(self, role: RoleConfig) -> SecurityPolicy:
        """The role's security policy (the Security setup attribute and the next association's)."""
        return self._states[role.sap].policy

    def association_refusal(self, role: RoleConfig) -> AssociationRefusal | None:
        """Why a new association of this role must be refused (its key is used up or in
        doubt), or None."""
        if not role.has_keys:
            return None
        if role.sap in self._incomplete:
            # Using keys in doubt could pair a key with counters it already used.
            return AssociationRefusal(
                Refusal.BUSY, "keys in doubt: a key transfer failed half-way; restart the meter"
            )
        state = self._states[role.sap]
        generation = state.ek_generation
        if state.exhausted_generation == generation:
            return AssociationRefusal(
                Refusal.COUNTER_EXHAUSTED,
                f"outgoing invocation counter of EK generation {generation} reached 2**32-1: "
                "key change needed",
            )
        last = self._store.counters.last_accepted(self.counter_key(role))
        if last is not None and last >= INVOCATION_COUNTER_LIMIT:
            return AssociationRefusal(
                Refusal.COUNTER_EXHAUSTED,
                f"incoming invocation counter of EK generation {generation} reached 2**32-1: "
                "key change needed",
            )
        return None

    def security_context(
        self, role: RoleConfig, local_system_title: bytes
    ) -> SecurityContext | None:
        """A new association's security context, from the store's current keys."""
        if not role.has_keys:
            return None
        self._retire_old_counters(role)  # no association of the role runs any more
        keys = self._store.keys
        name = owner(role)
        encryption_key = keys.get_key(name, ENCRYPTION_KEY)
        authentication_key = keys.get_key(name, AUTHENTICATION_KEY)
        if encryption_key is None or authentication_key is None:
            return None
        counters = self._store.counters
        generation = self.generation(role)
        key_id = counter_key_id(role, generation)

        def next_outgoing() -> int:
            try:
                return counters.next_outgoing(key_id)
            except CounterExhausted as exc:
                self._exhausted(role, generation, str(exc))
                raise

        return SecurityContext(
            local_system_title=local_system_title,
            peer_system_title=None,
            encryption_key=encryption_key,
            authentication_key=authentication_key,
            # partial objects, not closures: called for every frame, one Python frame less
            accept_incoming=functools.partial(counters.accept, key_id),
            last_incoming=functools.partial(counters.last_accepted, key_id),
            next_outgoing=next_outgoing,
        )

    # ------------------------------------------------------------------ Security setup methods

    def key_transfer_handler(self, role: RoleConfig) -> Callable[[Data], Data | None]:
        """Security setup method 2 of ``role``'s object (the dispatcher checked the rights)."""

        def key_transfer(parameter: Data) -> Data | None:
            self.transfer_keys(role, parameter)
            return None

        return key_transfer

    def security_activate_handler(self, role: RoleConfig) -> Callable[[Data], Data | None]:
        """Security setup method 1 of ``role``'s object (the dispatcher checked the rights)."""

        def security_activate(parameter: Data) -> Data | None:
            self.activate_policy(role, parameter)
            return None

        return security_activate

    def transfer_keys(self, role: RoleConfig, parameter: Data) -> None:
        """key_transfer: unwrap every key with the role's KEK, check all, then install all."""
        method = "key_transfer"
        self._refuse_while_incomplete(role, method)
        if not role.has_keys:
            self._refuse(role, method, Reason.NO_KEYS, "the role has no keys", _OTHER)
        try:
            entries = decode_key_transfer(parameter)
        except DecodeError as exc:
            self._refuse(role, method, Reason.MALFORMED, str(exc), ObjectResult.TYPE_UNMATCHED)
        if not entries:
            self._refuse(role, method, Reason.MALFORMED, "no key in the transfer", _OTHER)
        key_ids = [KeyId(key_id) for key_id, _ in entries]
        if len(set(key_ids)) != len(key_ids):
            self._refuse(role, method, Reason.MALFORMED, "a key id appears twice", _OTHER)
        if KeyId.GLOBAL_BROADCAST_ENCRYPTION in key_ids:
            self._refuse(role, method, Reason.BROADCAST, "broadcast keys are not served", _OTHER)
        name = owner(role)
        master_key = self._store.keys.get_key(name, MASTER_KEY)
        if master_key is None:
            self._refuse(role, method, Reason.NO_KEYS, "the role has no KEK", _OTHER)
        new_keys: dict[str, bytes] = {}
        for key_id, wrapped in zip(key_ids, (wrapped for _, wrapped in entries), strict=True):
            key_name = STORE_NAMES[key_id]
            try:
                key = unwrap_key(master_key, wrapped)
            except AuthenticationFailed:
                self._refuse(role, method, Reason.UNWRAP, f"{key_name} does not unwrap", _OTHER)
            if len(key) != KEY_LENGTH:
                self._refuse(
                    role, method, Reason.KEY_SIZE, f"{key_name} is {len(key)} octets", _OTHER
                )
            new_keys[key_name] = key
        if len(set(new_keys.values())) != len(new_keys):
            self._refuse(role, method, Reason.REUSED, "two keys of the transfer are equal", _OTHER)
        for key_name, key in new_keys.items():
            if self._ever_used(key):
                self._refuse(
                    role, method, Reason.REUSED, f"{key_name} was installed before", _OTHER
                )
        state = self._states[role.sap]
        if ENCRYPTION_KEY in new_keys:
            # A new EK: a fresh counter space; the old one is retired once no association
            # uses it any more (the running ones keep their keys until they end).
            state = replace(
                state,
                ek_generation=self._fresh_generation(role, state.ek_generation),
                retiring=(*state.retiring, state.ek_generation),
                exhausted_generation=None,
            )
        journal = _Journal(
            tuple(
                (key_name, new_keys[key_name])
                for key_name in _ALL_KEY_NAMES
                if key_name in new_keys
            ),
            state,
        )
        # The request's counter is already durable (the session syncs before an ACTION).
        self._store.state.put(journal_name(role), journal.to_bytes(), durable=True)
        try:
            self._complete(role, journal)
        except Exception:
            # The store failed half-way: the journal completes at the next start. Until then
            # the role's keys are in doubt, so nothing may use or change them.
            self._incomplete.add(role.sap)
            raise
        self._record_keys_changed(role, journal, completed_at_start=False)

    def activate_policy(self, role: RoleConfig, parameter: Data) -> None:
        """security_activate: store a policy that keeps every protection of the current one."""
        method = "security_activate"
        self._refuse_while_incomplete(role, method)
        try:
            value = expect(parameter, Enum, "security_policy").value
            new = decode_security_policy(value)
        except ObjectError as exc:
            self._refuse(role, method, Reason.POLICY_MALFORMED, str(exc), exc.result)
        except DecodeError as exc:
            self._refuse(role, method, Reason.POLICY_UNSUPPORTED, str(exc), _OTHER)
        if new & _SIGNED:
            self._refuse(
                role, method, Reason.POLICY_UNSUPPORTED, "signed APDUs are not supported", _OTHER
            )
        for response, request in _RESPONSE_NEEDS.items():
            if response in new and request not in new:
                self._refuse(
                    role,
                    method,
                    Reason.POLICY_UNSUPPORTED,
                    f"{response.name} needs {request.name}: answers take the request's protection",
                    _OTHER,
                )
        current = self.policy(role)
        if not is_strengthening(current, new):
            self._refuse(
                role,
                method,
                Reason.POLICY_WEAKER,
                f"0x{int(new):02X} drops protection of 0x{int(current):02X}",
                _OTHER,
            )
        if new == current:
            return  # nothing to change
        if not role.has_keys:
            self._refuse(role, method, Reason.NO_KEYS, "protection needs keys", _OTHER)
        encrypt_only = (
            SecurityPolicy.ENCRYPTED_REQUEST in new
            and SecurityPolicy.AUTHENTICATED_REQUEST not in new
        )
        if encrypt_only and changes_anything(role, self._rights[role.sap], self._objects()):
            self._refuse(
                role,
                method,
                Reason.ENCRYPT_ONLY,
                "encrypt-only requests are not authenticated: only for read-only roles",
                _OTHER,
            )
        self._put_state(role, replace(self._states[role.sap], policy=new))
        self._record_policy(role, current, new, cause="security_activate")

    # ------------------------------------------------------------------ internals

    def _refuse_while_incomplete(self, role: RoleConfig, method: str) -> None:
        if role.sap in self._incomplete:
            self._refuse(
                role,
                method,
                Reason.INCOMPLETE,
                "an earlier key transfer completes at the next start",
                ObjectResult.TEMPORARY_FAILURE,
            )

    def _complete(self, role: RoleConfig, journal: _Journal) -> None:
        """Install a journalled transfer; every step may run twice (after a crash)."""
        name = owner(role)
        keys = self._store.keys
        for key_name, material in journal.keys:
            keys.put_key(name, key_name, material)
        self._put_state(role, journal.state)
        self._store.state.delete(journal_name(role), durable=True)
        if role.sap in self._credentials:
            self._credentials[role.sap] = load_credentials(role, keys)

    def _put_state(self, role: RoleConfig, state: RoleSecurityState) -> None:
        self._store.state.put(state_name(role), state.to_bytes(), durable=True)
        self._states[role.sap] = state

    def _fresh_generation(self, role: RoleConfig, current: int) -> int:
        """The next generation whose counter key id was never used (ids are never reused)."""
        counters = self._store.counters
        used = set(counters.list_keys())
        generation = current + 1
        while True:
            key_id = counter_key_id(role, generation)
            try:
                fresh = key_id not in used and counters.last_accepted(key_id) is None
            except StorageError:
                fresh = False  # retired: a tombstone
            if fresh:
                return generation
            generation += 1

    def _retire_old_counters(self, role: RoleConfig) -> None:
        state = self._states[role.sap]
        if not state.retiring:
            return
        for generation in state.retiring:
            self._store.counters.retire(counter_key_id(role, generation))
        self._put_state(role, replace(state, retiring=()))

    def _exhausted(self, role: RoleConfig, generation: int, detail: str) -> None:
        state = self._states[role.sap]
        if state.ek_generation != generation or state.exhausted_generation == generation:
            return
        self._put_state(role, replace(state, exhausted_generation=generation))
        self._logbook.record(
            SECURITY,
            EventCode.REQUEST_REFUSED,
            **self._about(role),
            reason=Reason.COUNTER_EXHAUSTED,
            detail=f"key change needed: {detail}; new associations are refused until then",
        )
        log.warning("role %s: outgoing invocation counter exhausted; transfer a new EK", role.name)

    def _ever_used(self, key: bytes) -> bool:
        """Whether ``key`` was ever installed as any key of any role (no key is shared or
        reinstalled: a reinstalled EK would restart nonces under it)."""
        keys = self._store.keys
        owners = set(keys.owners()) | {owner(role) for role in self._roles}
        return any(
            keys.was_used(name, key_name, key)
            for name in sorted(owners)
            for key_name in _ALL_KEY_NAMES
        )

    def _refuse(
        self, role: RoleConfig, method: str, reason: str, detail: str, result: ObjectResult
    ) -> NoReturn:
        self._logbook.record(
            SECURITY,
            EventCode.REQUEST_REFUSED,
            **self._about(role),
            method=method,
            reason=reason,
            detail=detail[:200],
        )
        log.warning("%s for role %s refused: %s", method, role.name, reason)
        raise ObjectError(result, f"{method} for role {role.name}: {detail}")

    def _record_keys_changed(
        self, role: RoleConfig, journal: _Journal, *, completed_at_start: bool
    ) -> None:
        fields: dict[str, FieldValue] = {
            **self._about(role),
            "keys": ",".join(key_name for key_name, _ in journal.keys),
            "generation": journal.state.ek_generation,
        }
        if completed_at_start:
            fields["outcome"] = "completed-at-start"
        for log_name in (STANDARD, SECURITY):
            self._logbook.record(log_name, EventCode.GLOBAL_KEYS_CHANGED, **fields)
        log.info("role %s: keys changed (%s)", role.name, fields["keys"])

    def _record_policy(
        self, role: RoleConfig, old: SecurityPolicy, new: SecurityPolicy, *, cause: str
    ) -> None:
        for log_name in (STANDARD, SECURITY):
            self._logbook.record(
                log_name,
                EventCode.CONFIGURATION_CHANGED,
                **self._about(role),
                change="security-policy",
                cause=cause,
                old=int(old),
                new=int(new),
            )
        log.info(
            "role %s: security policy 0x%02X -> 0x%02X (%s)", role.name, int(old), int(new), cause
        )

    @staticmethod
    def _about(role: RoleConfig) -> dict[str, FieldValue]:
        return {"target_sap": role.sap, "target_role": role.name}


_OTHER = ObjectResult.OTHER_REASON

__all__ = [
    "AssociationRefusal",
    "KeyManagement",
    "Reason",
    "RoleSecurityState",
    "changes_anything",
    "counter_key_id",
    "journal_name",
    "state_name",
]
