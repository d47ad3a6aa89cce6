"""IEC HDLC setup, interface class 23 version 1: the HDLC link parameters of one port.

Every attribute but logical_name is writable, type- and range-checked; the meter receives the
new :class:`HdlcSettings` through ``on_settings_changed`` and applies it from the next
connection on (a running link keeps the parameters it negotiated).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Final

from securemeter.codec.axdr import Data, Enum, LongUnsigned, Unsigned
from securemeter.codec.obis import Obis
from securemeter.cosem._settings import SettingField, SettingsObject
from securemeter.cosem.base import AttributeDef

HDLC_SETUP: Final = Obis(0, 0, 22, 0, 0, 255)


class BaudRate(IntEnum):
    BAUD_300 = 0
    BAUD_600 = 1
    BAUD_1200 = 2
    BAUD_2400 = 3
    BAUD_4800 = 4
    BAUD_9600 = 5
    BAUD_19200 = 6
    BAUD_38400 = 7
    BAUD_57600 = 8
    BAUD_115200 = 9


@dataclass(frozen=True, slots=True)
class HdlcSettings:
    comm_speed: BaudRate = BaudRate.BAUD_9600
    window_size_transmit: int = 1
    window_size_receive: int = 1
    max_info_field_length_transmit: int = 128
    max_info_field_length_receive: int = 128
    inter_octet_time_out: int = 25  # milliseconds
    inactivity_time_out: int = 120  # seconds, 0 = none
    device_address: int = 0x10  # the physical (lower HDLC) address

    def __post_init__(self) -> None:
        # A SET stores the plain number; keep the field an enumeration member.
        object.__setattr__(self, "comm_speed", BaudRate(self.comm_speed))


class HdlcSetup(SettingsObject[HdlcSettings]):
    CLASS_ID = 23
    VERSION = 1
    ATTRIBUTES = (
        AttributeDef(1, "logical_name"),
        AttributeDef(2, "comm_speed"),
        AttributeDef(3, "window_size_transmit"),
        AttributeDef(4, "window_size_receive"),
        AttributeDef(5, "max_info_field_length_transmit"),
        AttributeDef(6, "max_info_field_length_receive"),
        AttributeDef(7, "inter_octet_time_out"),
        AttributeDef(8, "inactivity_time_out"),
        AttributeDef(9, "device_address"),
    )
    FIELDS = {
        2: SettingField("comm_speed", Enum, BaudRate.BAUD_300, BaudRate.BAUD_115200),
        3: SettingField("window_size_transmit", Unsigned, 1, 7),
        4: SettingField("window_size_receive", Unsigned, 1, 7),
        5: SettingField("max_info_field_length_transmit", LongUnsigned, 32, 2030),
        6: SettingField("max_info_field_length_receive", LongUnsigned, 32, 2030),
        7: SettingField("inter_octet_time_out", LongUnsigned, 20, 6000),
        8: SettingField("inactivity_time_out", LongUnsigned, 0, 0xFFFF),
        # 0x0010..0x3FFD is the usable two-octet address space (below: reserved, above:
        # the calling and broadcast addresses).
        9: SettingField("device_address", LongUnsigned, 0x0010, 0x3FFD),
    }

    def _get_comm_speed(self) -> Data:
        return self._read(2)

    def _set_comm_speed(self, value: Data) -> None:
        self._write(2, value)

    def _get_window_size_transmit(self) -> Data:
        return self._read(3)

    def _set_window_size_transmit(self, value: Data) -> None:
        self._write(3, value)

    def _get_window_size_receive(self) -> Data:
        return self._read(4)

    def _set_window_size_receive(self, value: Data) -> None:
        self._write(4, value)

    def _get_max_info_field_length_transmit(self) -> Data:
        return self._read(5)

    def _set_max_info_field_length_transmit(self, value: Data) -> None:
        self._write(5, value)

    def _get_max_info_field_length_receive(self) -> Data:
        return self._read(6)

    def _set_max_info_field_length_receive(self, value: Data) -> None:
        self._write(6, value)

    def _get_inter_octet_time_out(self) -> Data:
        return self._read(7)

    def _set_inter_octet_time_out(self, value: Data) -> None:
        self._write(7, value)

    def _get_inactivity_time_out(self) -> Data:
        return self._read(8)

    def _set_inactivity_time_out(self, value: Data) -> None:
        self._write(8, value)

    def _get_device_address(self) -> Data:
        return self._read(9)

    def _set_device_address(self, value: Data) -> None:
        self._write(9, value)
