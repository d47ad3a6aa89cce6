"""TCP-UDP setup, interface class 41 version 0: the IEC 62056-47 wrapper's TCP/UDP port.

Every attribute but logical_name is writable, type- and range-checked; the meter receives the
new :class:`TcpUdpSettings` through ``on_settings_changed`` and applies it to the next
listener or connection.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Final

from securemeter.codec.axdr import Data, LongUnsigned, OctetString, Unsigned
from securemeter.codec.obis import Obis
from securemeter.cosem._settings import SettingField, SettingsObject
from securemeter.cosem.base import AttributeDef, expect_octet_string

TCP_UDP_SETUP: Final = Obis(0, 0, 25, 0, 0, 255)
IP4_SETUP: Final = Obis(0, 0, 25, 1, 0, 255)


@dataclass(frozen=True, slots=True)
class TcpUdpSettings:
    port: int = 4059
    ip_reference: Obis = IP4_SETUP  # the IPv4/IPv6 setup object this port belongs to
    maximum_segment_size: int = 576
    simultaneous_connections: int = 1
    inactivity_time_out: int = 180  # seconds, 0 = none


class TcpUdpSetup(SettingsObject[TcpUdpSettings]):
    CLASS_ID = 41
    VERSION = 0
    ATTRIBUTES = (
        AttributeDef(1, "logical_name"),
        AttributeDef(2, "port"),
        AttributeDef(3, "IP_reference"),
        AttributeDef(4, "MSS"),
        AttributeDef(5, "nb_of_sim_conn"),
        AttributeDef(6, "inactivity_time_out"),
    )
    FIELDS = {
        2: SettingField("port", LongUnsigned, 1, 0xFFFF),
        4: SettingField("maximum_segment_size", LongUnsigned, 40, 0xFFFF),
        5: SettingField("simultaneous_connections", Unsigned, 1, 0xFF),
        6: SettingField("inactivity_time_out", LongUnsigned, 0, 0xFFFF),
    }

    def _get_port(self) -> Data:
        return self._read(2)

    def _set_port(self, value: Data) -> None:
        self._write(2, value)

    def _get_ip_reference(self) -> Data:
        return OctetString(self._settings.ip_reference.to_bytes())

    def _set_ip_reference(self, value: Data) -> None:
        reference = Obis.from_bytes(expect_octet_string(value, "IP_reference", size=6))
        self._store(3, replace(self._settings, ip_reference=reference), str(reference))

    def _get_mss(self) -> Data:
        return self._read(4)

    def _set_mss(self, value: Data) -> None:
        self._write(4, value)

    def _get_nb_of_sim_conn(self) -> Data:
        return self._read(5)

    def _set_nb_of_sim_conn(self, value: Data) -> None:
        self._write(5, value)

    def _get_inactivity_time_out(self) -> Data:
        return self._read(6)

    def _set_inactivity_time_out(self, value: Data) -> None:
        self._write(6, value)
