"""HdlcClientLink and HdlcServerLink talking to each other in memory, on clean and noisy lines."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from hypothesis import given, settings
from hypothesis import strategies as st

from securemeter.framing.hdlc import (
    ApduReceived,
    DisconnectReason,
    FrameType,
    HdlcAddress,
    HdlcClientLink,
    HdlcFrame,
    HdlcFrameDecoder,
    HdlcServerLink,
    LinkConnected,
    LinkDisconnected,
    LinkEvent,
    LinkState,
)

SNRM = bytes.fromhex("7EA00802232193BD647E")
METER = HdlcAddress(1, 17, 2)


@dataclass
class Line:
    """Carries bytes both ways; ``damage`` may alter or drop each transmission."""

    client: HdlcClientLink
    server: HdlcServerLink
    now: float = 0.0
    client_events: list[LinkEvent] = field(default_factory=list)
    server_events: list[LinkEvent] = field(default_factory=list)
    transmissions: int = 0

    def damage(self, data: bytes) -> bytes:
        return data

    def pump(self, answer: bool = False, max_rounds: int = 500) -> None:
        """Move bytes until both sides are quiet; the server echoes each APDU if ``answer``."""
        for _ in range(max_rounds):
            moved = False
            to_server = self.client.data_to_send()
            if to_server:
                moved = True
                self.transmissions += 1
                events = self.server.receive_data(self.damage(to_server), self.now)
                self.server_events += events
                if answer:
                    for event in events:
                        if isinstance(event, ApduReceived):
                            self.server.send_apdu(event.apdu[::-1])
            to_client = self.server.data_to_send()
            if to_client:
                moved = True
                self.transmissions += 1
                self.client_events += self.client.receive_data(self.damage(to_client), self.now)
            if not moved:
                return
        raise AssertionError("the links never went quiet")

    def wait(self, seconds: float, answer: bool = False) -> None:
        """Let time pass in small steps, running the client's timers."""
        steps = int(seconds / 0.5)
        for _ in range(steps):
            self.now += 0.5
            self.client_events += self.client.check_timeout(self.now)
            self.server_events += self.server.check_timeout(self.now)
            self.pump(answer)

    def connect(self) -> None:
        self.client.connect()
        self.pump()
        assert self.client.state is LinkState.NRM
        assert self.server.state is LinkState.NRM


def apdus(events: list[LinkEvent]) -> list[bytes]:
    return [event.apdu for event in events if isinstance(event, ApduReceived)]


def make_line(
    server_info: int = 128,
    client_info: int = 128,
    server_window: int = 1,
    client_window: int = 1,
    server_address: HdlcAddress = METER,
) -> Line:
    return Line(
        HdlcClientLink(
            server_address,
            max_info_length=client_info,
            window=client_window,
            response_timeout=1.0,
        ),
        HdlcServerLink(17, max_info_length=server_info, window=server_window),
    )


def test_connect_exchange_disconnect() -> None:
    line = make_line()
    line.connect()
    assert isinstance(line.client_events[0], LinkConnected)
    assert isinstance(line.server_events[0], LinkConnected)
    line.client.send_apdu(b"\xc0\x01")
    line.pump(answer=True)
    assert apdus(line.server_events) == [b"\xc0\x01"]
    assert apdus(line.client_events) == [b"\x01\xc0"]
    line.client.disconnect()
    line.pump()
    assert line.client_events[-1] == LinkDisconnected(DisconnectReason.LOCAL_DISCONNECT)
    assert line.server_events[-1] == LinkDisconnected(DisconnectReason.PEER_DISCONNECT)


def test_long_apdus_both_ways_with_max_info_128() -> None:
    line = make_line()
    line.connect()
    request = bytes(i % 256 for i in range(1500))
    line.client.send_apdu(request)
    line.pump(answer=True)
    assert apdus(line.server_events) == [request]
    assert apdus(line.client_events) == [request[::-1]]
    # SNRM, UA; then 1503 bytes with the LLC in 128-byte segments: 12 I-frames + 11 RR each way.
    assert line.transmissions == 2 + 2 * (12 + 11)


@settings(deadline=None, max_examples=40)
@given(
    sizes=st.lists(st.integers(0, 3000), min_size=1, max_size=4),
    server_info=st.integers(32, 600),
    client_info=st.integers(32, 600),
    server_window=st.integers(1, 7),
    client_window=st.integers(1, 7),
    address_size=st.sampled_from([1, 2, 4]),
)
def test_any_sizes_windows_and_address_forms(
    sizes: list[int],
    server_info: int,
    client_info: int,
    server_window: int,
    client_window: int,
    address_size: int,
) -> None:
    address = HdlcAddress(1, None if address_size == 1 else 17, address_size)
    line = make_line(server_info, client_info, server_window, client_window, address)
    line.connect()
    negotiated = line.server.parameters
    assert negotiated.max_info_length_transmit == min(server_info, client_info)
    assert negotiated.window_size_transmit == min(server_window, client_window)
    requests = [bytes((size + i) % 256 for i in range(size)) for size in sizes]
    for request in requests:
        line.client.send_apdu(request)
        line.pump(answer=True)
    assert apdus(line.server_events) == requests
    assert apdus(line.client_events) == [request[::-1] for request in requests]


class LossyLine(Line):
    """Drops the transmissions whose numbers are listed."""

    def __init__(self, line: Line, lost: set[int]) -> None:
        super().__init__(line.client, line.server)
        self.lost = lost

    def damage(self, data: bytes) -> bytes:
        return b"" if self.transmissions in self.lost else data


def test_lost_frames_are_recovered_by_polling() -> None:
    for lost in ({3}, {4}, {5}, {3, 4}, {6, 9}, {4, 7, 10}):
        line = LossyLine(make_line(), lost)
        line.connect()  # transmissions 1 and 2
        request = bytes(400)
        line.client.send_apdu(request)
        line.pump(answer=True)
        line.wait(20.0, answer=True)
        assert apdus(line.server_events) == [request], lost
        assert apdus(line.client_events) == [request[::-1]], lost


class NoisyLine(Line):
    """Corrupts single bytes at random (seeded) and adds noise between transmissions."""

    def __init__(self, line: Line, seed: int, rate: float) -> None:
        super().__init__(line.client, line.server)
        self.random = random.Random(seed)
        self.rate = rate

    def damage(self, data: bytes) -> bytes:
        if self.random.random() >= self.rate:
            return data
        damaged = bytearray(data)
        damaged[self.random.randrange(len(damaged))] ^= 1 << self.random.randrange(8)
        return bytes(self.random.randbytes(self.random.randrange(5))) + bytes(damaged)


def test_noisy_line_still_delivers_or_gives_up_cleanly() -> None:
    delivered = 0
    for seed in range(30):
        line = NoisyLine(make_line(), seed, rate=0.15)
        line.client.connect()
        line.pump()
        line.wait(5.0)
        if line.client.state is not LinkState.NRM:
            continue
        request = bytes(range(256)) * 2
        line.client.send_apdu(request)
        line.pump(answer=True)
        line.wait(30.0, answer=True)
        received = apdus(line.server_events)
        # Bit errors never reach the application: whatever arrives is exact.
        assert all(apdu == request for apdu in received)
        assert all(apdu == request[::-1] for apdu in apdus(line.client_events))
        delivered += bool(received)
    assert delivered >= 20


# ----------------------------------------------------------------------------- fuzzing the server


def _frames(data: bytes) -> list[HdlcFrame]:
    decoder = HdlcFrameDecoder()
    decoder.receive_data(data)
    frames = []
    while (frame := decoder.next_frame()) is not None:
        frames.append(frame)
    return frames


@settings(deadline=None, max_examples=300)
@given(chunks=st.lists(st.binary(max_size=60), max_size=8))
def test_random_bytes_never_raise_and_never_wedge_the_server(chunks: list[bytes]) -> None:
    server = HdlcServerLink(17)
    for index, chunk in enumerate(chunks):
        server.receive_data(chunk, float(index))
        server.data_to_send()
    events = server.receive_data(SNRM, 10.0)
    assert any(isinstance(event, LinkConnected) for event in events)
    assert FrameType.UA in [frame.frame_type for frame in _frames(server.data_to_send())]


valid_stream = [
    SNRM,
    bytes.fromhex(
        "7EA02C02232110AF9FE6E600601DA109060760857405080101BE10040E01000000065F1F0400001E1DFFFF"
        "C5E47E"
    ),
    HdlcFrame(False, HdlcAddress(1, 17, 2), HdlcAddress(16, None, 1), 0x31).to_bytes(),
    HdlcFrame(True, HdlcAddress(1, 17, 2), HdlcAddress(16, None, 1), 0x32, b"\xe6").to_bytes(),
    HdlcFrame(False, HdlcAddress(1, 17, 2), HdlcAddress(16, None, 1), 0x53).to_bytes(),
]


@settings(deadline=None, max_examples=300)
@given(
    sequence=st.lists(st.sampled_from(valid_stream), min_size=1, max_size=8),
    mutations=st.lists(st.tuples(st.integers(min_value=0), st.integers(0, 255)), max_size=4),
    reply=st.booleans(),
)
def test_mutated_valid_frames_never_raise_and_never_wedge_the_server(
    sequence: list[bytes], mutations: list[tuple[int, int]], reply: bool
) -> None:
    stream = bytearray(b"".join(sequence))
    for position, value in mutations:
        stream[position % len(stream)] = value
    server = HdlcServerLink(17)
    for event in server.receive_data(bytes(stream), 0.0):
        if reply and isinstance(event, ApduReceived) and server.state is LinkState.NRM:
            server.send_apdu(b"\x01" * 300)
    server.data_to_send()
    events = server.receive_data(SNRM, 1.0)
    assert any(isinstance(event, LinkConnected) for event in events)
    assert FrameType.UA in [frame.frame_type for frame in _frames(server.data_to_send())]
