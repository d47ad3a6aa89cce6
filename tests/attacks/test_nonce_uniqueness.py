"""No GCM nonce is used twice, while the meter is killed and restarted under a working client.

A head-end keeps associating as the auth+encrypt reader (HLS-GMAC, general-glo, SC 0x30) and
reading the clock, a register and the load profile in GET blocks, against one state directory
whose meter process dies again and again: at the crash points around the outgoing counter
reservation and just before an answer leaves (docs/DURABILITY.md), then in a seeded soak of
SIGKILLs between requests or while a request is being served. Every nonce the meter used is
collected from what it sent: the security header of each ciphered answer, the ciphered initiate
response in the AARE and the counter inside f(CtoS) (HLS pass 4). None may repeat under the key.

They must in fact be strictly increasing: the meter reserves counters ahead, so after a restart
it continues above everything it may have handed out before it died, including an answer that
was built but never sent.
"""

from __future__ import annotations

import contextlib
import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from tests.attacks.support import (
    CLOCK,
    ENERGY_IMPORT,
    LOAD_PROFILE,
    READER,
    HeadEnd,
    NoAnswer,
    ProcessTarget,
    RoleKeys,
    SocketChannel,
    split_ciphered,
)

from securemeter.apdu.acse import AARE
from securemeter.apdu.action import ActionResponseNormal
from securemeter.apdu.registry import decode_apdu
from securemeter.codec.axdr import OctetString
from securemeter.framing.wrapper import encode_wrapper
from securemeter.security.hls import parse_gmac_response
from securemeter.security.protect import decipher_apdu, is_ciphered

SEED = 20260301
RANDOM_KILLS = 10
CLIENT_PDU = 256  # the load profile then comes in many GET blocks: many nonces per request
CRASH_POINTS = (
    "counter.reserve:before-flush",
    "counter.reserve:after-flush",
    "answer:before-send@{n}",
)
KILLED = -9  # Popen.returncode of a process ended by SIGKILL


@dataclass(frozen=True, slots=True)
class Nonce:
    system_title: bytes
    invocation_counter: int
    key: bytes


@dataclass
class NonceLog:
    """Every nonce the meter was seen to use, in the order it sent them."""

    used: list[Nonce] = field(default_factory=list)
    where: list[str] = field(default_factory=list)

    def add(self, nonce: Nonce, where: str) -> None:
        self.used.append(nonce)
        self.where.append(where)

    def collect(self, answer: bytes, keys: RoleKeys) -> None:
        """The nonces inside one answer of the meter."""
        if answer[0] == AARE.TAG:
            aare = AARE.from_bytes(answer)
            information = aare.user_information
            if information and is_ciphered(information[0]):
                assert aare.responding_ap_title is not None
                _, _, payload = split_ciphered(information)
                counter = int.from_bytes(payload[1:5], "big")
                nonce = Nonce(aare.responding_ap_title, counter, keys.encryption_key)
                self.add(nonce, "initiate response")
            return
        if not is_ciphered(answer[0]):
            return
        _, title, payload = split_ciphered(answer)
        assert len(title) == 8, "general-glo carries the meter's system title"
        deciphered = decipher_apdu(  # also proves the frame is the meter's, under this key
            answer,
            system_title=title,
            encryption_key=keys.encryption_key,
            authentication_key=keys.authentication_key,
        )
        apdu = decode_apdu(deciphered.apdu)
        if isinstance(apdu, ActionResponseNormal) and isinstance(
            apdu.return_parameters, OctetString
        ):
            # f(CtoS) takes its counter before the frame that carries it.
            f_ctos = parse_gmac_response(apdu.return_parameters.value)
            self.add(Nonce(title, f_ctos.invocation_counter, keys.encryption_key), "f(CtoS)")
        counter = int.from_bytes(payload[1:5], "big")
        self.add(Nonce(title, counter, keys.encryption_key), "frame")


class Client:
    """The working head-end: one counter across all its associations and the meter's lives."""

    def __init__(self, target: ProcessTarget, log: NonceLog) -> None:
        self.target = target
        self.keys = target.keys(READER)
        self.log = log
        self.next_counter = 1
        self.sessions = 0

    def work(self, steps: int, rng: random.Random) -> int:
        """Up to ``steps`` requests in associations of a few requests each; returns how many
        were answered. Stops early (returning) when the meter dies under it."""
        done = 0
        while done < steps:
            head = HeadEnd(
                self.target, READER, counter=self.next_counter, max_receive_pdu_size=CLIENT_PDU
            )
            self.sessions += 1
            try:
                head.associate()
                done += 1
                for _ in range(rng.randint(1, 4)):
                    if done >= steps:
                        break
                    obis, class_id, attribute = rng.choice(
                        [(CLOCK, 8, 2), (ENERGY_IMPORT, 3, 2), (LOAD_PROFILE, 7, 2)]
                    )
                    head.get(class_id, obis, attribute)
                    done += 1
                head.release()
            except (NoAnswer, OSError):
                return done
            finally:
                self.next_counter = head.counters.next_value
                for answer in head.received:
                    self.log.collect(answer, self.keys)
                head.channel.disconnect()
        return done

    def send_and_kill(self, rng: random.Random) -> None:
        """Associate, then send a load profile GET and kill the meter without reading the
        answer: the meter may be anywhere in serving it."""
        head = HeadEnd(
            self.target, READER, counter=self.next_counter, max_receive_pdu_size=CLIENT_PDU
        )
        try:
            head.associate()
            request = head.frame(head.get_request(7, LOAD_PROFILE, 2))
            channel = head.channel
            assert isinstance(channel, SocketChannel)
            channel.socket.sendall(encode_wrapper(READER, 1, request))
            if rng.random() < 0.5:
                channel.socket.recv(1)  # the answer has begun to leave
        finally:
            self.target.process.kill()
            self.next_counter = head.counters.next_value
            for answer in head.received:
                self.log.collect(answer, self.keys)
            with contextlib.suppress(OSError):
                head.channel.disconnect()


def test_no_nonce_is_used_twice_across_crashes(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    log = NonceLog()
    target = ProcessTarget.start(tmp_path)
    client = Client(target, log)
    process = target.process
    crashes = 0
    try:
        assert client.work(10, rng) == 10
        # The crash points: the meter kills itself.
        for point in CRASH_POINTS:
            process.stop()
            process.env = {"SECUREMETER_CRASH_POINT": point.format(n=rng.randint(3, 30))}
            process.start()
            client.work(60, rng)
            assert process.wait() == KILLED, f"{point} did not fire"
            crashes += 1
            process.env = {}
            process.start()
            assert client.work(5, rng) == 5
        # The seeded soak: SIGKILL between requests, or while one is being served.
        for _ in range(RANDOM_KILLS):
            if rng.random() < 0.5:
                assert client.work(rng.randint(1, 12), rng) > 0
                process.kill()
            else:
                client.send_and_kill(rng)
            crashes += 1
            process.start()
        assert client.work(10, rng) == 10
        process.stop()
    finally:
        process.kill()

    assert crashes == len(CRASH_POINTS) + RANDOM_KILLS
    assert len(log.used) > 300, "too little was observed to mean anything"
    assert {"initiate response", "frame", "f(CtoS)"} <= set(log.where)
    duplicates = [nonce for nonce, uses in Counter(log.used).items() if uses > 1]
    assert not duplicates, f"GCM nonces used twice: {sorted(duplicates, key=str)[:5]}"
    counters = [nonce.invocation_counter for nonce in log.used]
    assert counters == sorted(counters), "the meter's counter went backwards"
