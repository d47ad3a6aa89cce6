"""The demo meter's logical device: its COSEM objects, wired to metrology, time and store.

OBIS codes (see docs/DEMO_METER.md): clock 0.0.1.0.0.255, logical device name 0.0.42.0.0.255,
serial number 0.0.96.1.0.255, firmware identifier 1.0.0.2.0.255, energy 1.0.1.8.0.255
(import) and 1.0.2.8.0.255 (export), voltage 1.0.32.7.0.255, current 1.0.31.7.0.255, load
profile 1.0.99.1.0.255, TCP-UDP setup 0.0.25.0.0.255, HDLC setup 0.0.22.0.0.255, and the
manufacturer-specific 128-octet test object 0.0.128.0.0.255 (group C 128 = manufacturer
specific).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from securemeter import __version__
from securemeter.codec.axdr import Data, DoubleLongUnsigned, LongUnsigned, OctetString
from securemeter.codec.cosem_time import CosemDateTime
from securemeter.codec.obis import Obis
from securemeter.cosem.base import ChangeObserver, CosemObject
from securemeter.cosem.clock import Clock, ClockSettings
from securemeter.cosem.data import DataObject, octet_string_validator
from securemeter.cosem.hdlc_setup import HdlcSettings, HdlcSetup
from securemeter.cosem.profile_generic import CaptureObject, ProfileGeneric, Row
from securemeter.cosem.register import Register, Unit
from securemeter.cosem.tcp_udp_setup import TcpUdpSettings, TcpUdpSetup
from securemeter.meter.identity import MeterIdentity
from securemeter.meter.metrology import Metrology, export_power_w, import_power_w
from securemeter.meter.profiles import StoredProfileBuffer
from securemeter.meter.timekeeping import MeterTime
from securemeter.storage.base import MeterStore

CLOCK = Obis(0, 0, 1, 0, 0, 255)
LOGICAL_DEVICE_NAME = Obis(0, 0, 42, 0, 0, 255)
SERIAL_NUMBER = Obis(0, 0, 96, 1, 0, 255)
FIRMWARE_IDENTIFIER = Obis(1, 0, 0, 2, 0, 255)
ACTIVE_ENERGY_IMPORT = Obis(1, 0, 1, 8, 0, 255)
ACTIVE_ENERGY_EXPORT = Obis(1, 0, 2, 8, 0, 255)
VOLTAGE = Obis(1, 0, 32, 7, 0, 255)
CURRENT = Obis(1, 0, 31, 7, 0, 255)
LOAD_PROFILE = Obis(1, 0, 99, 1, 0, 255)
TCP_UDP_SETUP = Obis(0, 0, 25, 0, 0, 255)
HDLC_SETUP = Obis(0, 0, 22, 0, 0, 255)
TEST_OCTETS = Obis(0, 0, 128, 0, 0, 255)

_T = TypeVar("_T")

LOAD_PROFILE_PERIOD = 900  # seconds
LOAD_PROFILE_DEPTH = 96 * 60  # sixty days of quarter hours
TEST_OCTETS_SIZE = 128

CLOCK_SETTINGS_KEY = "settings.clock"
TCP_SETTINGS_KEY = "settings.tcp_udp"
HDLC_SETTINGS_KEY = "settings.hdlc"
TEST_OCTETS_KEY = "value.test_octets"


@dataclass(slots=True)
class Device:
    objects: dict[Obis, CosemObject]
    clock: Clock
    metrology: Metrology
    load_profile: ProfileGeneric
    load_profile_buffer: StoredProfileBuffer
    tcp_udp_setup: TcpUdpSetup
    hdlc_setup: HdlcSetup

    def tick(self, now: datetime) -> int:
        """Capture the load profile at every period boundary passed; returns rows added."""
        last = self.load_profile_buffer.last_capture()
        boundary = _boundary_at_or_before(now)
        if last is not None and boundary <= last:
            return 0
        first = boundary if last is None else last + timedelta(seconds=LOAD_PROFILE_PERIOD)
        # A long stop or a clock jump would capture many identical rows: keep the latest day.
        first = max(first, boundary - timedelta(days=1))
        rows = []
        when = first
        while when <= boundary:
            rows.append(self._row(when))
            when += timedelta(seconds=LOAD_PROFILE_PERIOD)
        self.load_profile_buffer.extend(rows)
        return len(rows)

    def _row(self, when: datetime) -> Row:
        return Row(
            when,
            (
                self.clock.to_local(when).to_octet_string(),
                DoubleLongUnsigned(self.metrology.import_wh()),
                DoubleLongUnsigned(self.metrology.export_wh()),
            ),
        )


def _boundary_at_or_before(now: datetime) -> datetime:
    seconds = int(now.timestamp()) // LOAD_PROFILE_PERIOD * LOAD_PROFILE_PERIOD
    return datetime.fromtimestamp(seconds, UTC)


def build_device(
    identity: MeterIdentity,
    store: MeterStore,
    time: MeterTime,
    *,
    on_change: ChangeObserver,
    history_days: int = 30,
) -> Device:
    state = store.state
    clock_settings = _load_json(state.get(CLOCK_SETTINGS_KEY), _clock_settings_from, None)
    if clock_settings is None:
        clock_settings = ClockSettings.european(-60)  # CET/CEST
    clock = Clock(
        CLOCK,
        time_source=time,
        settings=clock_settings,
        on_settings_changed=lambda s: state.put(
            CLOCK_SETTINGS_KEY, _clock_settings_json(s), durable=True
        ),
        on_change=on_change,
    )
    metrology = Metrology(store.slots, time.now_utc, time.monotonic)
    tcp_settings = _load_json(state.get(TCP_SETTINGS_KEY), _tcp_settings_from, TcpUdpSettings())
    hdlc_settings = _load_json(state.get(HDLC_SETTINGS_KEY), _hdlc_settings_from, None)
    if hdlc_settings is None:
        hdlc_settings = HdlcSettings(device_address=identity.hdlc_physical_address)
    tcp_udp_setup = TcpUdpSetup(
        TCP_UDP_SETUP,
        settings=tcp_settings,
        on_settings_changed=lambda s: state.put(TCP_SETTINGS_KEY, _settings_json(s), durable=True),
        on_change=on_change,
    )
    hdlc_setup = HdlcSetup(
        HDLC_SETUP,
        settings=hdlc_settings,
        on_settings_changed=lambda s: state.put(HDLC_SETTINGS_KEY, _settings_json(s), durable=True),
        on_change=on_change,
    )
    stored_octets = state.get(TEST_OCTETS_KEY)
    test_octets = DataObject(
        TEST_OCTETS,
        value=OctetString(stored_octets if stored_octets is not None else bytes(TEST_OCTETS_SIZE)),
        validator=octet_string_validator(max_length=TEST_OCTETS_SIZE),
        on_store=lambda value: _store_octets(store, value),
        on_change=on_change,
    )
    buffer = StoredProfileBuffer(store.logs, "profile.load", LOAD_PROFILE_DEPTH)
    load_profile = ProfileGeneric(
        LOAD_PROFILE,
        capture_objects=(
            CaptureObject(8, CLOCK, 2),
            CaptureObject(3, ACTIVE_ENERGY_IMPORT, 2),
            CaptureObject(3, ACTIVE_ENERGY_EXPORT, 2),
        ),
        buffer=buffer,
        local_deviation_at=clock.local_deviation_at,
        capture_period=LOAD_PROFILE_PERIOD,
        on_change=on_change,
    )
    objects: list[CosemObject] = [
        clock,
        DataObject(LOGICAL_DEVICE_NAME, value=OctetString(identity.logical_device_name)),
        DataObject(SERIAL_NUMBER, value=OctetString(identity.serial.encode("ascii"))),
        DataObject(
            FIRMWARE_IDENTIFIER, value=OctetString(f"securemeter {__version__}".encode("ascii"))
        ),
        Register(
            ACTIVE_ENERGY_IMPORT,
            value=lambda: DoubleLongUnsigned(metrology.import_wh()),
            scaler=0,
            unit=Unit.WATT_HOUR,
        ),
        Register(
            ACTIVE_ENERGY_EXPORT,
            value=lambda: DoubleLongUnsigned(metrology.export_wh()),
            scaler=0,
            unit=Unit.WATT_HOUR,
        ),
        Register(
            VOLTAGE, value=lambda: LongUnsigned(metrology.voltage_dv()), scaler=-1, unit=Unit.VOLT
        ),
        Register(
            CURRENT, value=lambda: LongUnsigned(metrology.current_ca()), scaler=-2, unit=Unit.AMPERE
        ),
        load_profile,
        tcp_udp_setup,
        hdlc_setup,
        test_octets,
    ]
    device = Device(
        objects={obj.logical_name: obj for obj in objects},
        clock=clock,
        metrology=metrology,
        load_profile=load_profile,
        load_profile_buffer=buffer,
        tcp_udp_setup=tcp_udp_setup,
        hdlc_setup=hdlc_setup,
    )
    if len(buffer) == 0 and history_days > 0:
        buffer.extend(synthetic_history(device, time.now_utc(), history_days))
    return device


def synthetic_history(device: Device, now: datetime, days: int) -> list[Row]:
    """Quarter-hour rows for ``days`` before ``now``, ending at the current register values:
    each interval's energy is the load curve's power at the interval's middle times 15 min."""
    end = _boundary_at_or_before(now)
    count = days * 96
    import_wh = device.metrology.import_wh()
    export_wh = device.metrology.export_wh()
    rows: list[Row] = []
    when = end
    for _ in range(count):
        rows.append(
            Row(
                when,
                (
                    device.clock.to_local(when).to_octet_string(),
                    DoubleLongUnsigned(max(import_wh, 0)),
                    DoubleLongUnsigned(max(export_wh, 0)),
                ),
            )
        )
        middle = when - timedelta(seconds=LOAD_PROFILE_PERIOD / 2)
        import_wh -= round(import_power_w(middle) / 4)
        export_wh -= round(export_power_w(middle) / 4)
        when -= timedelta(seconds=LOAD_PROFILE_PERIOD)
    rows.reverse()
    return rows


def _store_octets(store: MeterStore, value: Data) -> None:
    assert isinstance(value, OctetString)
    store.state.put(TEST_OCTETS_KEY, value.value, durable=True)


def _load_json(raw: bytes | None, parse: Callable[[dict[str, object]], _T], default: _T) -> _T:
    if raw is None:
        return default
    return parse(json.loads(raw))


def _settings_json(settings: object) -> bytes:
    # Not asdict(): it would turn the Obis field (a dataclass) into a dict.
    record = {f.name: getattr(settings, f.name) for f in fields(settings)}  # type: ignore[arg-type]
    return json.dumps(
        {k: (str(v) if isinstance(v, Obis) else int(v)) for k, v in record.items()}
    ).encode()


def _tcp_settings_from(record: dict[str, object]) -> TcpUdpSettings:
    fields = dict(record)
    fields["ip_reference"] = Obis.parse(str(fields["ip_reference"]))
    return TcpUdpSettings(**fields)  # type: ignore[arg-type]


def _hdlc_settings_from(record: dict[str, object]) -> HdlcSettings:
    return HdlcSettings(**record)  # type: ignore[arg-type]


def _clock_settings_json(settings: ClockSettings) -> bytes:
    return json.dumps(
        {
            "time_zone": settings.time_zone,
            "daylight_savings_begin": settings.daylight_savings_begin.to_bytes().hex(),
            "daylight_savings_end": settings.daylight_savings_end.to_bytes().hex(),
            "daylight_savings_deviation": settings.daylight_savings_deviation,
            "daylight_savings_enabled": settings.daylight_savings_enabled,
        }
    ).encode()


def _clock_settings_from(record: dict[str, object]) -> ClockSettings:
    return ClockSettings(
        time_zone=int(str(record["time_zone"])),
        daylight_savings_begin=CosemDateTime.from_bytes(
            bytes.fromhex(str(record["daylight_savings_begin"]))
        ),
        daylight_savings_end=CosemDateTime.from_bytes(
            bytes.fromhex(str(record["daylight_savings_end"]))
        ),
        daylight_savings_deviation=int(str(record["daylight_savings_deviation"])),
        daylight_savings_enabled=bool(record["daylight_savings_enabled"]),
    )
