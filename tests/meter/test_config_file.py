"""Roles from a TOML file: every validation error with its message, a valid file, the shipped
example, and the rights enforced by the in-memory meter for roles configured this way."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from tests.meter_harness import Link, associate, make_meter

from securemeter.apdu.action import ActionRequestNormal, ActionResponseNormal
from securemeter.apdu.common import CosemAttributeDescriptor, CosemMethodDescriptor
from securemeter.apdu.enums import ActionResult, AuthenticationMechanism, DataAccessResult
from securemeter.apdu.set import SetRequestNormal, SetResponseNormal
from securemeter.codec.axdr import Array, Data, Enum, Integer, Long, OctetString, Structure
from securemeter.codec.cosem_time import CosemDateTime
from securemeter.codec.obis import Obis
from securemeter.cosem.base import AttributeAccess, MethodAccess
from securemeter.errors import SecuremeterError
from securemeter.meter.access import ALL, Grant
from securemeter.meter.config import (
    MAX_ROLES,
    Interface,
    InterfaceConfig,
    MeterConfig,
    Protection,
    RoleConfig,
    User,
)
from securemeter.meter.config_file import (
    ConfigError,
    KeyLines,
    demo_device_objects,
    format_path,
    load_config,
    object_catalogue,
    parse_config,
    settable_attributes,
)
from securemeter.meter.meter import Meter
from securemeter.session.connection import AssociationProposal
from securemeter.session.events import (
    AssociationAccepted,
    AssociationRefused,
    Authenticated,
    ResponseReceived,
)
from securemeter.session.protection import SecurityContext

ROOT = Path(__file__).resolve().parents[2]
CLOCK = "0.0.1.0.0.255"
TEST_OCTETS = "0.0.128.0.0.255"


def role(
    sap: int = 16,
    name: str = "public",
    mechanism: str = "none",
    security: str = "none",
    interfaces: str = '["tcp"]',
    objects: str = "",
) -> str:
    """One [[roles]] table (7 lines with the blank first line) plus its object tables."""
    return f"""
[[roles]]
sap = {sap}
name = "{name}"
mechanism = "{mechanism}"
security = "{security}"
interfaces = {interfaces}
{objects}"""


def refused(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        parse_config(text, source="roles.toml")
    return info.value


def line_of(text: str, fragment: str) -> int:
    """The 1-based line of the only line of ``text`` containing ``fragment``."""
    lines = [n for n, line in enumerate(text.splitlines(), start=1) if fragment in line]
    assert len(lines) == 1, lines
    return lines[0]


def assert_error(error: ConfigError, path: str, line: int | None, *hints: str) -> None:
    assert error.path == path
    assert error.line == line
    where = "roles.toml" if line is None else f"roles.toml:{line}"
    assert str(error).startswith(f"{where}: {path}: ")
    for hint in hints:
        assert hint in str(error), str(error)


# ---------------------------------------------------------------------------- syntax, keys, types


def test_config_error_is_a_securemeter_error() -> None:
    assert issubclass(ConfigError, SecuremeterError)


def test_toml_syntax_error_names_the_line() -> None:
    text = role() + 'name2 = "unterminated\n'
    error = refused(text)
    assert error.line == line_of(text, "name2")
    assert error.path == ""
    assert str(error).startswith(f"roles.toml:{error.line}: TOML syntax error: ")
    assert "quotes" in error.hint


def test_a_key_written_twice_is_a_syntax_error() -> None:
    text = role() + "sap = 17\n"
    error = refused(text)
    assert error.line == line_of(text, "sap = 17")
    assert "TOML syntax error" in error.problem


def test_unknown_top_level_key_suggests_the_right_one() -> None:
    text = "[[role]]\nsap = 16\n"
    error = refused(text)
    assert_error(error, "role", 1, 'unknown key "role"', 'did you mean "roles"?')


def test_misspelt_role_key_names_path_line_and_fix() -> None:
    text = role().replace('mechanism = "none"', 'mechansim = "none"')
    error = refused(text)
    assert_error(
        error, "roles[0].mechansim", line_of(text, "mechansim"), 'did you mean "mechanism"?'
    )
    assert '"sap", "name", "mechanism"' in error.hint  # the allowed keys are listed


def test_misspelt_object_key() -> None:
    text = role(objects=f'[[roles.objects]]\nobis = "{CLOCK}"\nreads = "all"\n')
    error = refused(text)
    assert_error(error, "roles[0].objects[0].reads", line_of(text, "reads"), 'did you mean "read"?')


def test_unknown_key_in_meter_table() -> None:
    text = "[meter]\nmax_pdu_size = 512\n" + role()
    assert_error(refused(text), "meter.max_pdu_size", 2, "max_receive_pdu_size")


def test_quoted_number_is_not_an_integer() -> None:
    text = role().replace("sap = 16", 'sap = "16"')
    assert_error(
        refused(text), "roles[0].sap", 3, "expected an integer, found a string", "without quotes"
    )


def test_boolean_is_not_an_integer() -> None:
    text = role().replace("sap = 16", "sap = true")
    assert_error(refused(text), "roles[0].sap", 3, "found a boolean")


def test_missing_required_key() -> None:
    text = role().replace('security = "none"\n', "")
    assert_error(refused(text), "roles[0]", 2, 'missing key "security"', "add security = ...")


def test_roles_must_be_tables() -> None:
    error = refused("roles = [1, 2]\n")
    assert_error(error, "roles[0]", 1, "expected a table, found an integer", "[[roles]]")


def test_no_roles() -> None:
    assert_error(refused("[meter]\n"), "roles", None, "no role is defined", "[[roles]]")
    assert_error(refused("roles = []\n"), "roles", 1, "no role is defined")


# ---------------------------------------------------------------------------- roles


def test_more_than_fourteen_roles() -> None:
    text = "".join(role(sap=index + 1, name=f"role{index}") for index in range(MAX_ROLES + 1))
    error = refused(text)
    fifteenth = [n for n, line in enumerate(text.splitlines(), 1) if line == "[[roles]]"][14]
    assert_error(error, "roles[14]", fifteenth, "15 roles, at most 14", "remove roles")


def test_fourteen_roles_are_allowed() -> None:
    text = "".join(role(sap=index + 1, name=f"role{index}") for index in range(MAX_ROLES))
    config = parse_config(text)
    assert [r.instance for r in config.roles] == list(range(1, 15))


def test_duplicate_sap() -> None:
    text = role(sap=16, name="public") + role(sap=16, name="reader")
    error = refused(text)
    assert_error(
        error,
        "roles[1].sap",
        line_of(text, 'name = "reader"') - 1,
        'SAP 16 is already used by roles[0] ("public")',
        "give each role its own client SAP",
    )


@pytest.mark.parametrize("sap", [0, 127, 300, -1])
def test_sap_out_of_range(sap: int) -> None:
    text = role(sap=sap)
    assert_error(refused(text), "roles[0].sap", 3, f"{sap} is out of range", "from 1 to 126")


def test_duplicate_name_ignoring_case() -> None:
    text = role(sap=16, name="Reader") + role(sap=2, name="reader")
    error = refused(text)
    assert_error(
        error,
        "roles[1].name",
        line_of(text, 'name = "reader"'),
        'name "reader" is already used by roles[0]',
    )


@pytest.mark.parametrize(
    "name", ["", " lead", "trail ", "bad\\nname", "x" * 33, "semi;colon", "caf\u00e9"]
)
def test_invalid_name(name: str) -> None:
    text = role(name=name)
    assert_error(refused(text), "roles[0].name", 4, "is not a valid name", "1 to 32 characters")


def test_unknown_mechanism() -> None:
    text = role(mechanism="hls_gmac")
    assert_error(
        refused(text),
        "roles[0].mechanism",
        5,
        'unknown mechanism "hls_gmac"',
        'did you mean "hls-gmac"?',
        '"none", "low", "hls-gmac"',
    )


def test_unknown_security() -> None:
    text = role(mechanism="hls-gmac", security="auth+enc")
    assert_error(
        refused(text),
        "roles[0].security",
        6,
        'unknown security "auth+enc"',
        '"none", "auth", "enc", "auth-enc"',
    )


def test_unknown_interface() -> None:
    text = role(interfaces='["tcp", "optcal"]')
    assert_error(
        refused(text), "roles[0].interfaces[1]", 7, 'unknown interface "optcal"', '"optical"'
    )


def test_empty_interfaces() -> None:
    text = role(interfaces="[]")
    assert_error(refused(text), "roles[0].interfaces", 7, "no interface is listed", '"tcp"')


def test_interfaces_must_be_an_array() -> None:
    text = role(interfaces='"tcp"')
    assert_error(refused(text), "roles[0].interfaces", 7, "expected an array, found a string")


# ---------------------------------------------------------------------------- users


def test_users_duplicate_id() -> None:
    text = role() + 'users = [{ id = 1, name = "alice" }, { id = 1, name = "bob" }]\n'
    error = refused(text)
    assert_error(error, "roles[0].users[1].id", line_of(text, "users"), "user id 1 is already used")


def test_users_id_out_of_range() -> None:
    text = role() + '\n[[roles.users]]\nid = 256\nname = "alice"\n'
    assert_error(refused(text), "roles[0].users[0].id", line_of(text, "id = 256"), "0 to 255")


def test_users_unknown_key() -> None:
    text = role() + 'users = [{ id = 1, user = "alice" }]\n'
    error = refused(text)
    assert_error(error, "roles[0].users[0].user", line_of(text, "users"), 'unknown key "user"')


# ---------------------------------------------------------------------------- objects


def objects(*entries: str) -> str:
    return "".join(f"[[roles.objects]]\n{entry}\n" for entry in entries)


def test_unknown_object() -> None:
    text = role(objects=objects(f'obis = "{CLOCK}"', 'obis = "0.0.1.0.1.255"\nread = "all"'))
    error = refused(text)
    assert_error(
        error,
        "roles[0].objects[1].obis",
        line_of(text, "0.0.1.0.1.255"),
        "the meter has no object 0.0.1.0.1.255",
        'did you mean "0.0.1.0.0.255"?',
    )


def test_role_objects_exist_only_for_configured_instances() -> None:
    # Two roles: instances 1 and 2 exist, 3 does not.
    good = role(objects=objects('obis = "0.0.43.1.2.255"\nread = "all"')) + role(2, "reader")
    assert parse_config(good).roles[0].grants[0].logical_name == Obis(0, 0, 43, 1, 2, 255)
    text = role(objects=objects('obis = "0.0.40.0.3.255"\nread = "all"')) + role(2, "reader")
    error = refused(text)
    assert_error(error, "roles[0].objects[0].obis", line_of(text, "0.0.40.0.3.255"), "no object")


def test_malformed_obis() -> None:
    text = role(objects=objects('obis = "1.0.1.8"\nread = "all"'))
    assert_error(
        refused(text),
        "roles[0].objects[0].obis",
        line_of(text, '"1.0.1.8"'),
        '"1.0.1.8" is not an OBIS code',
        '"0.0.1.0.0.255"',
    )


def test_obis_must_be_a_string() -> None:
    text = role(objects=objects("obis = 42"))
    assert_error(refused(text), "roles[0].objects[0].obis", line_of(text, "obis = 42"), "string")


def test_unknown_attribute_name() -> None:
    text = role(objects=objects(f'obis = "{CLOCK}"\nread = ["time", "timee"]'))
    error = refused(text)
    assert_error(
        error,
        "roles[0].objects[0].read[1]",
        line_of(text, "timee"),
        'Clock has no attribute "timee"',
        'did you mean "time"?',
        "2 (time)",
    )


def test_unknown_attribute_index() -> None:
    text = role(objects=objects(f'obis = "{CLOCK}"\nread = [2, 10]'))
    assert_error(
        refused(text),
        "roles[0].objects[0].read[1]",
        line_of(text, "read ="),
        "Clock has no attribute 10",
        "9 (clock_base)",
    )


def test_unknown_method() -> None:
    text = role(
        sap=1,
        mechanism="hls-gmac",
        security="auth-enc",
        objects=objects(f'obis = "{CLOCK}"\nmethods = ["adjust_to_hour"]'),
    )
    assert_error(
        refused(text),
        "roles[0].objects[0].methods[0]",
        line_of(text, "adjust_to_hour"),
        'Clock has no method "adjust_to_hour"',
        "1 (adjust_to_quarter)",
    )


def test_method_on_a_class_without_methods() -> None:
    text = role(
        sap=1,
        mechanism="hls-gmac",
        security="auth-enc",
        objects=objects(f'obis = "{TEST_OCTETS}"\nmethods = [1]'),
    )
    assert_error(
        refused(text), "roles[0].objects[0].methods[0]", line_of(text, "methods"), "methods: none"
    )


def test_rights_of_the_wrong_type() -> None:
    text = role(objects=objects(f'obis = "{CLOCK}"\nread = 2'))
    assert_error(
        refused(text), "roles[0].objects[0].read", line_of(text, "read = 2"), "expected an array"
    )
    text = role(objects=objects(f'obis = "{CLOCK}"\nread = [2.5]'))
    assert_error(
        refused(text),
        "roles[0].objects[0].read[0]",
        line_of(text, "2.5"),
        "expected an attribute index or name, found a float",
    )


def test_reading_the_secret_is_refused() -> None:
    text = role(objects=objects('obis = "0.0.40.0.0.255"\nread = [2, "secret"]'))
    assert_error(
        refused(text),
        "roles[0].objects[0].read[1]",
        line_of(text, "secret"),
        "attribute 7 (secret) of AssociationLN is never readable",
        "remove it",
    )


def test_writing_what_set_cannot_change_is_refused() -> None:
    def management(entry: str) -> str:
        return role(1, "management", "hls-gmac", "auth-enc", objects=objects(entry))

    text = management('obis = "1.0.1.8.0.255"\nwrite = ["value"]')
    assert_error(
        refused(text),
        "roles[0].objects[0].write[0]",
        line_of(text, "write"),
        "attribute 2 (value) of this Register cannot be written by SET",
        "attributes a SET can change here: none",
    )
    # A Data object whose value is fixed (the serial number) likewise.
    text = management('obis = "0.0.96.1.0.255"\nwrite = [2]')
    assert "cannot be written by SET" in refused(text).problem


def test_every_object_takes_only_all() -> None:
    text = role(objects=objects('obis = "*"\nread = [2]'))
    assert_error(
        refused(text),
        "roles[0].objects[0].read",
        line_of(text, "read"),
        'rights on "*" must be "all" or []',
        "name the object by its OBIS code",
    )


def test_same_object_twice() -> None:
    text = role(objects=objects(f'obis = "{CLOCK}"\nread = [2]', 'obis = "0-0:1.0.0.255"'))
    error = refused(text)
    assert_error(
        error,
        "roles[0].objects[1].obis",
        line_of(text, "0-0:1.0.0.255"),
        "is already listed at roles[0].objects[0]",
        "merge",
    )


# ---------------------------------------------------------------------------- security rules


def test_write_rights_need_authentication() -> None:
    text = role(objects=objects(f'obis = "{CLOCK}"\nread = "all"\nwrite = ["time"]'))
    assert_error(
        refused(text),
        "roles[0].objects[0].write",
        line_of(text, "write"),
        "write or method rights on a role without authentication",
        'roles[0].mechanism = "hls-gmac"',
    )


def test_method_rights_need_authentication() -> None:
    text = role(objects=objects(f'obis = "{CLOCK}"\nmethods = ["adjust_to_quarter"]'))
    assert_error(
        refused(text),
        "roles[0].objects[0].methods",
        line_of(text, "methods"),
        "without authentication",
    )


def test_every_method_counts_as_a_method_right() -> None:
    text = role(objects=objects('obis = "*"\nread = "all"\nmethods = "all"'))
    assert refused(text).path == "roles[0].objects[0].methods"


def test_reply_to_hls_authentication_keeps_a_role_read_only() -> None:
    text = role(
        objects=objects(
            'obis = "0.0.40.0.0.255"\nread = "all"\nmethods = ["reply_to_HLS_authentication"]'
        )
    )
    (public,) = parse_config(text).roles
    assert public.grants == (
        Grant(Obis(0, 0, 40, 0, 0, 255), read=frozenset({ALL}), methods=frozenset({1})),
    )


def test_lls_without_encryption_with_write_rights() -> None:
    for security in ("none", "auth"):
        text = role(
            sap=2,
            mechanism="low",
            security=security,
            objects=objects(f'obis = "{CLOCK}"\nwrite = ["time"]'),
        )
        assert_error(
            refused(text),
            "roles[0].security",
            line_of(text, "security ="),
            "LLS without encryption on a role with write or method rights "
            "(roles[0].objects[0].write)",
            'security = "auth-enc"',
        )


def test_lls_read_only_without_encryption_is_allowed() -> None:
    text = role(
        sap=2, name="reader", mechanism="low", objects=objects(f'obis = "{CLOCK}"\nread = "all"')
    )
    (reader,) = parse_config(text).roles
    assert reader.mechanism == AuthenticationMechanism.LOW
    assert reader.protection is Protection.NONE


def test_lls_with_authenticated_encryption_may_write() -> None:
    text = role(
        sap=2,
        mechanism="low",
        security="auth-enc",
        objects=objects(f'obis = "{CLOCK}"\nwrite = ["time"]'),
    )
    assert parse_config(text).roles[0].grants[0].write == {2}


@pytest.mark.parametrize("mechanism", ["low", "hls-gmac"])
def test_encrypt_only_with_write_rights(mechanism: str) -> None:
    text = role(
        sap=2,
        mechanism=mechanism,
        security="enc",
        objects=objects(f'obis = "{CLOCK}"\nmethods = ["shift_time"]'),
    )
    assert_error(
        refused(text),
        "roles[0].security",
        line_of(text, "security ="),
        'encrypt-only protection ("enc") on a role with write or method rights',
        'use security = "auth-enc"',
    )


def test_encrypt_only_read_only_is_allowed() -> None:
    text = role(
        sap=2,
        mechanism="hls-gmac",
        security="enc",
        objects=objects(f'obis = "{CLOCK}"\nread = [2]'),
    )
    assert parse_config(text).roles[0].protection is Protection.ENCRYPTED


@pytest.mark.parametrize("security", ["auth", "enc", "auth-enc"])
def test_keys_without_authentication_are_refused(security: str) -> None:
    text = role(security=security)
    assert_error(
        refused(text),
        "roles[0].security",
        line_of(text, "security ="),
        f'security "{security}" on a role without authentication',
        'mechanism = "hls-gmac"',
    )


def test_hls_gmac_without_protection_is_read_only() -> None:
    read_only = role(
        sap=1, mechanism="hls-gmac", objects=objects(f'obis = "{CLOCK}"\nread = "all"')
    )
    assert parse_config(read_only).roles[0].protection is Protection.NONE
    text = role(sap=1, mechanism="hls-gmac", objects=objects(f'obis = "{CLOCK}"\nwrite = ["time"]'))
    assert_error(
        refused(text),
        "roles[0].security",
        line_of(text, "security ="),
        "HLS-GMAC without protection",
        '"auth-enc" or "auth"',
    )


def test_hls_gmac_with_authenticated_requests_may_write() -> None:
    text = role(
        sap=1,
        mechanism="hls-gmac",
        security="auth",
        objects=objects(f'obis = "{CLOCK}"\nwrite = [2]'),
    )
    assert parse_config(text).roles[0].protection is Protection.AUTHENTICATED


def test_write_all_on_an_object_without_settable_attributes_grants_nothing() -> None:
    # A register has nothing a SET can change: the public role stays read-only.
    text = role(objects=objects('obis = "1.0.1.8.0.255"\nread = "all"\nwrite = "all"'))
    (public,) = parse_config(text).roles
    assert public.grants == (Grant(Obis(1, 0, 1, 8, 0, 255), read=frozenset({ALL})),)


# ---------------------------------------------------------------------------- meter, interfaces


@pytest.mark.parametrize(
    ("setting", "problem"),
    [
        ("max_receive_pdu_size = 10", "10 is out of range"),
        ("max_receive_pdu_size = 70000", "70000 is out of range"),
        ("load_profile_history_days = 61", "61 is out of range"),
        ('load_profile_history_days = "30"', "expected an integer"),
    ],
)
def test_meter_settings_out_of_range(setting: str, problem: str) -> None:
    text = f"[meter]\n{setting}\n" + role()
    key = setting.split(" ")[0]
    assert_error(refused(text), f"meter.{key}", 2, problem)


def test_unknown_interface_table() -> None:
    text = "[interfaces.serial]\nmax_connections = 1\n" + role()
    assert_error(refused(text), "interfaces.serial", 1, 'unknown key "serial"', '"optical"')


@pytest.mark.parametrize(
    ("setting", "problem"),
    [
        ("max_connections = 0", "0 is out of range"),
        ("inactivity_timeout = 0", "0 is out of range"),
        ("inactivity_timeout = -5.0", "-5.0 is out of range"),
        ('inactivity_timeout = "2m"', "expected a number of seconds"),
        ("timeout = 5", 'unknown key "timeout"'),
    ],
)
def test_interface_settings(setting: str, problem: str) -> None:
    text = f"[interfaces.optical]\n{setting}\n" + role()
    key = setting.split(" ")[0]
    assert_error(refused(text), f"interfaces.optical.{key}", 2, problem)


def test_meter_must_be_a_table() -> None:
    assert_error(refused("meter = 3\n" + role()), "meter", 1, "expected a table", "[meter]")


# ---------------------------------------------------------------------------- files


def test_load_config_of_a_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.toml"
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value).startswith(f"{path}: cannot read the file")
    assert "check the path" in info.value.hint


def test_load_config_of_a_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes(b'[[roles]]\nsap = 16\nname = "caf\xe9"\n')
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.line == 3
    assert "UTF-8" in str(info.value)


def test_load_config_names_the_file_in_errors(tmp_path: Path) -> None:
    path = tmp_path / "roles.toml"
    path.write_text(role(sap=0), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value).startswith(f"{path}:3: roles[0].sap: ")


# ---------------------------------------------------------------------------- line locator


def test_key_lines_follow_arrays_of_tables_and_skip_multi_line_values() -> None:
    text = """\
# comment with key = value
[meter]
max_receive_pdu_size = 512

[[roles]]
sap = 1
interfaces = [
  "tcp",   # a comment with ] and [
  "optical",
]
notes = \"\"\"
fake = 1
[[roles]]
\"\"\"
[[roles.objects]]
obis = "x"
[[roles.objects]]
"read" = [{ a = 1 }, "]"]

[[roles]]
sap = 2
[[roles.objects]]
write = 1
"""
    lines = KeyLines(text)
    assert lines.line(("meter", "max_receive_pdu_size")) == 3
    assert lines.line(("roles", 0)) == 5
    assert lines.line(("roles", 0, "sap")) == 6
    assert lines.line(("roles", 0, "interfaces", 1)) == 7  # the key's line
    assert lines.line(("roles", 0, "fake")) == 5  # inside a string: falls back to the table
    assert lines.line(("roles", 0, "objects", 0, "obis")) == 16
    assert lines.line(("roles", 0, "objects", 1, "read")) == 18
    assert lines.line(("roles", 1)) == 20
    assert lines.line(("roles", 1, "sap")) == 21
    assert lines.line(("roles", 1, "objects", 0, "write")) == 23
    assert lines.line(("nothing",)) is None
    assert format_path(("roles", 1, "objects", 0, "write", 3)) == "roles[1].objects[0].write[3]"


# ---------------------------------------------------------------------------- valid files


VALID = """\
[meter]
max_receive_pdu_size = 512
load_profile_history_days = 0

[interfaces.optical]
max_connections = 1
inactivity_timeout = 30.5

[[roles]]
sap = 16
name = "public"
mechanism = "none"
security = "none"
interfaces = ["tcp", "optical"]

[[roles.objects]]
obis = "0.0.1.0.0.255"
read = [2, "time_zone"]

[[roles.objects]]
obis = "0.0.43.1.2.255"
read = "all"

[[roles]]
sap = 2
name = "reader"
mechanism = "low"
security = "none"
interfaces = ["tcp"]
users = [{ id = 7, name = "alice" }]

[[roles.objects]]
obis = "1.0.1.8.0.255"
read = ["VALUE", 3]

[[roles]]
sap = 1
name = "management"
mechanism = "hls-gmac"
security = "auth-enc"
interfaces = ["optical"]

[[roles.objects]]
obis = "*"
read = "all"
methods = "all"

[[roles.objects]]
obis = "0.0.1.0.0.255"
write = ["time", 3]
methods = ["shift_time"]

[[roles.objects]]
obis = "0.0.25.0.0.255"
write = "all"
"""


def test_a_valid_file_loads_into_the_expected_roles() -> None:
    config = parse_config(VALID)
    assert config.max_receive_pdu_size == 512
    assert config.load_profile_history_days == 0
    assert config.interfaces == (
        InterfaceConfig(Interface.TCP, 8, 120.0),
        InterfaceConfig(Interface.OPTICAL, 1, 30.5),
    )
    public, reader, management = config.roles
    assert public == RoleConfig(
        sap=16,
        name="public",
        mechanism=AuthenticationMechanism.NONE,
        protection=Protection.NONE,
        interfaces=frozenset({Interface.TCP, Interface.OPTICAL}),
        grants=(
            Grant(Obis(0, 0, 1, 0, 0, 255), read=frozenset({2, 3})),
            Grant(Obis(0, 0, 43, 1, 2, 255), read=frozenset({ALL})),
        ),
        instance=1,
    )
    assert reader == RoleConfig(
        sap=2,
        name="reader",
        mechanism=AuthenticationMechanism.LOW,
        protection=Protection.NONE,
        interfaces=frozenset({Interface.TCP}),
        grants=(Grant(Obis(1, 0, 1, 8, 0, 255), read=frozenset({2, 3})),),
        instance=2,
        users=(User(7, "alice"),),
    )
    assert management == RoleConfig(
        sap=1,
        name="management",
        mechanism=AuthenticationMechanism.HIGH_GMAC,
        protection=Protection.AUTHENTICATED_ENCRYPTED,
        interfaces=frozenset({Interface.OPTICAL}),
        grants=(
            Grant(None, read=frozenset({ALL}), methods=frozenset({ALL})),
            Grant(Obis(0, 0, 1, 0, 0, 255), write=frozenset({2, 3}), methods=frozenset({6})),
            Grant(Obis(0, 0, 25, 0, 0, 255), write=frozenset({2, 3, 4, 5, 6})),
        ),
        instance=3,
    )
    assert (management.association_name, management.security_setup_name) == (
        Obis(0, 0, 40, 0, 3, 255),
        Obis(0, 0, 43, 0, 3, 255),
    )


def test_defaults_when_meter_and_interfaces_are_absent() -> None:
    config = parse_config(role())
    defaults = MeterConfig(roles=())
    assert config.interfaces == defaults.interfaces
    assert config.max_receive_pdu_size == defaults.max_receive_pdu_size
    assert config.load_profile_history_days == defaults.load_profile_history_days
    assert config.roles[0].grants == ()  # a role without objects sees nothing


def test_write_all_on_every_object_means_what_set_can_change() -> None:
    text = role(
        sap=1,
        mechanism="hls-gmac",
        security="auth-enc",
        objects=objects('obis = "*"\nwrite = "all"'),
    )
    (management,) = parse_config(text).roles
    written = {grant.logical_name: grant.write for grant in management.grants}
    assert written == {
        Obis(0, 0, 1, 0, 0, 255): {2, 3, 5, 6, 7, 8},
        Obis(1, 0, 99, 1, 0, 255): {4},
        Obis(0, 0, 25, 0, 0, 255): {2, 3, 4, 5, 6},
        Obis(0, 0, 22, 0, 0, 255): {2, 3, 4, 5, 6, 7, 8, 9},
        Obis(0, 0, 128, 0, 0, 255): {2},
    }


def test_shipped_example_loads_and_runs() -> None:
    config = load_config(ROOT / "examples" / "roles.toml")
    assert [(r.sap, r.name, r.instance) for r in config.roles] == [
        (16, "public", 1),
        (1, "management", 2),
        (2, "reader", 3),
        (3, "installer", 4),
        (4, "firmware", 5),
        (5, "security admin", 6),
        (32, "local reader", 7),
    ]
    meter = make_meter(config, history_days=0)  # every grant resolves against the device
    link, event = associate(meter)
    assert isinstance(event, AssociationAccepted)
    assert isinstance(link.get(8, CLOCK, 2), OctetString)
    assert link.get(3, "1.0.1.8.0.255", 2) == DataAccessResult.OBJECT_UNDEFINED


def test_documented_example_loads() -> None:
    text = (ROOT / "docs" / "CONFIGURATION.md").read_text(encoding="utf-8")
    found = re.search(r"## A complete example\n\n```toml\n(.*?)```", text, re.DOTALL)
    assert found is not None
    config = parse_config(found.group(1))
    assert [role.sap for role in config.roles] == [16, 1, 3, 32]
    make_meter(config, history_days=0)


def test_catalogue_matches_the_device_the_meter_builds() -> None:
    config = parse_config(role() + role(2, "reader") + role(3, "installer"))
    meter = make_meter(config, history_days=0)
    assert dict(demo_device_objects()) == {
        name: obj.CLASS_ID for name, obj in meter.device.objects.items()
    }
    served = {name: obj.CLASS_ID for name, obj in meter.objects.items()}
    served[Obis(0, 0, 40, 0, 0, 255)] = 15
    assert object_catalogue(3) == served


def test_settable_attributes_match_the_objects() -> None:
    config = parse_config(role() + role(2, "reader"))
    meter = make_meter(config, history_days=0)
    for name, obj in meter.objects.items():
        settable = settable_attributes(name, obj.CLASS_ID)
        assert settable <= type(obj).writable_attributes()
        if hasattr(obj, "writable"):  # Data objects: fixed or computed values refuse a SET
            assert bool(settable) == obj.writable, name


# ---------------------------------------------------------------------------- enforcement


ENFORCED = """\
[meter]
load_profile_history_days = 0

[[roles]]
sap = 16
name = "public"
mechanism = "none"
security = "none"
interfaces = ["tcp", "optical"]
[[roles.objects]]
obis = "0.0.1.0.0.255"
read = ["logical_name", "time"]
[[roles.objects]]
obis = "0.0.40.0.0.255"
read = "all"

[[roles]]
sap = 2
name = "reader"
mechanism = "low"
security = "none"
interfaces = ["tcp"]
[[roles.objects]]
obis = "0.0.1.0.0.255"
read = "all"
[[roles.objects]]
obis = "1.0.1.8.0.255"
read = "all"
[[roles.objects]]
obis = "0.0.128.0.0.255"
read = ["value"]
[[roles.objects]]
obis = "0.0.40.0.0.255"
read = "all"

[[roles]]
sap = 3
name = "installer"
mechanism = "hls-gmac"
security = "auth-enc"
interfaces = ["tcp"]
[[roles.objects]]
obis = "0.0.1.0.0.255"
read = "all"
write = ["time"]
methods = ["shift_time"]
[[roles.objects]]
obis = "0.0.128.0.0.255"
read = "all"
write = ["value"]
"""


def object_list(link: Link) -> dict[Obis, Structure]:
    """The object list a role reads: OBIS -> access_rights."""
    listing = link.get(15, "0.0.40.0.0.255", 2)
    assert isinstance(listing, Array)
    result = {}
    for entry in listing.items:
        assert isinstance(entry, Structure)
        name = entry.items[2]
        rights = entry.items[3]
        assert isinstance(name, OctetString) and isinstance(rights, Structure)
        result[Obis.from_bytes(name.value)] = rights
    return result


def access_modes(rights: Structure) -> tuple[dict[int, int], dict[int, int]]:
    attributes, methods = rights.items
    assert isinstance(attributes, Array) and isinstance(methods, Array)

    def modes(items: Array) -> dict[int, int]:
        out = {}
        for item in items.items:
            assert isinstance(item, Structure)
            index, mode = item.items[0], item.items[1]
            assert isinstance(index, Integer) and isinstance(mode, Enum)
            out[index.value] = mode.value
        return out

    return modes(attributes), modes(methods)


def set_attribute(link: Link, class_id: int, obis: str, attribute: int, value: Data) -> int:
    request = SetRequestNormal(
        0xC1, CosemAttributeDescriptor(class_id, Obis.parse(obis), attribute), None, value
    )
    event = link.exchange(link.headend.send_request(request))
    assert isinstance(event, ResponseReceived) and isinstance(event.response, SetResponseNormal)
    return event.response.result


def invoke(link: Link, class_id: int, obis: str, method: int, parameter: Data) -> int:
    request = ActionRequestNormal(
        0xC1, CosemMethodDescriptor(class_id, Obis.parse(obis), method), parameter
    )
    event = link.exchange(link.headend.send_request(request))
    assert isinstance(event, ResponseReceived)
    assert isinstance(event.response, ActionResponseNormal)
    return event.response.result


def lls_reader(meter: Meter) -> Link:
    password = meter.credentials[2].password
    assert password  # generated into the store, never in the file
    proposal = AssociationProposal(mechanism=AuthenticationMechanism.LOW, password=password)
    link, event = associate(meter, 2, proposal)
    assert isinstance(event, AssociationAccepted)
    return link


def hls_installer(meter: Meter) -> Link:
    credentials = meter.credentials[3]
    assert credentials.encryption_key is not None and credentials.authentication_key is not None
    incoming: list[int] = []
    outgoing = iter(range(1, 1_000))
    context = SecurityContext(
        local_system_title=b"CLIENT01",
        peer_system_title=None,
        encryption_key=credentials.encryption_key,
        authentication_key=credentials.authentication_key,
        accept_incoming=incoming.append,
        last_incoming=lambda: incoming[-1] if incoming else None,
        next_outgoing=lambda: next(outgoing),
    )
    proposal = AssociationProposal(mechanism=AuthenticationMechanism.HIGH_GMAC, security=context)
    link, event = associate(meter, 3, proposal)
    assert isinstance(event, AssociationAccepted) and event.authentication_pending
    assert isinstance(link.exchange(link.headend.authenticate()), Authenticated)
    return link


def clock_time(link: Link) -> OctetString:
    value = link.get(8, CLOCK, 2)
    assert isinstance(value, OctetString)
    return value


def new_time(meter: Meter) -> OctetString:
    later = meter.time.now_utc() + timedelta(hours=1, minutes=7)
    return CosemDateTime.from_datetime(later).to_octet_string()


@pytest.fixture
def meter() -> Meter:
    return make_meter(parse_config(ENFORCED, source="enforced.toml"))


def test_object_lists_differ_between_roles(meter: Meter) -> None:
    public, _ = associate(meter)
    current = Obis(0, 0, 40, 0, 0, 255)
    public_list = object_list(public)
    assert set(public_list) == {Obis(0, 0, 1, 0, 0, 255), current}
    reader_list = object_list(lls_reader(meter))
    assert set(reader_list) == {
        Obis(0, 0, 1, 0, 0, 255),
        Obis(1, 0, 1, 8, 0, 255),
        Obis(0, 0, 128, 0, 0, 255),
        current,
    }
    # The rights shown are the configured ones: the public role reads two clock attributes,
    # the reader (LLS) every attribute, authenticated; nobody may invoke a method.
    attributes, methods = access_modes(public_list[Obis(0, 0, 1, 0, 0, 255)])
    assert attributes == {1: 1, 2: 1} | {i: 0 for i in range(3, 10)}
    assert set(methods.values()) == {MethodAccess.NO_ACCESS}
    attributes, methods = access_modes(reader_list[Obis(0, 0, 1, 0, 0, 255)])
    assert set(attributes.values()) == {AttributeAccess.AUTHENTICATED_READ_ONLY}
    assert set(methods.values()) == {MethodAccess.NO_ACCESS}
    attributes, _ = access_modes(reader_list[Obis(0, 0, 128, 0, 0, 255)])
    assert attributes == {1: 0, 2: AttributeAccess.AUTHENTICATED_READ_ONLY}


def test_refused_set_and_action_are_not_executed(meter: Meter) -> None:
    link = lls_reader(meter)
    before = clock_time(link)
    octets_before = meter.objects[Obis(0, 0, 128, 0, 0, 255)].get_attribute(2, None)
    tcp_before = meter.objects[Obis(0, 0, 25, 0, 0, 255)].get_attribute(2, None)
    assert set_attribute(link, 8, CLOCK, 2, new_time(meter)) == DataAccessResult.READ_WRITE_DENIED
    assert invoke(link, 8, CLOCK, 6, Long(3600)) == ActionResult.READ_WRITE_DENIED
    assert (
        set_attribute(link, 1, TEST_OCTETS, 2, OctetString(b"\xaa" * 8))
        == DataAccessResult.READ_WRITE_DENIED
    )
    # An object the role cannot see answers exactly like one that does not exist.
    assert (
        set_attribute(link, 41, "0.0.25.0.0.255", 2, Long(1)) == DataAccessResult.OBJECT_UNDEFINED
    )
    assert link.get(3, "1.0.32.7.0.255", 2) == DataAccessResult.OBJECT_UNDEFINED
    assert link.get(3, "1.0.99.99.0.255", 2) == DataAccessResult.OBJECT_UNDEFINED
    assert clock_time(link) == before
    assert meter.objects[Obis(0, 0, 128, 0, 0, 255)].get_attribute(2, None) == octets_before
    assert meter.objects[Obis(0, 0, 25, 0, 0, 255)].get_attribute(2, None) == tcp_before
    # The public role likewise cannot set the clock.
    public, _ = associate(meter)
    assert set_attribute(public, 8, CLOCK, 2, new_time(meter)) == DataAccessResult.READ_WRITE_DENIED
    assert link.get(8, CLOCK, 3) is not None
    assert public.get(8, CLOCK, 3) == DataAccessResult.READ_WRITE_DENIED
    assert clock_time(link) == before


def test_the_same_requests_succeed_for_a_role_with_the_rights(meter: Meter) -> None:
    # The control for the refusals above: the installer's rights let the same requests run.
    link = hls_installer(meter)
    before = clock_time(link)
    target = new_time(meter)
    assert set_attribute(link, 8, CLOCK, 2, target) == DataAccessResult.SUCCESS
    assert clock_time(link) != before
    assert invoke(link, 8, CLOCK, 6, Long(60)) == ActionResult.SUCCESS
    assert (
        set_attribute(link, 1, TEST_OCTETS, 2, OctetString(b"\xaa" * 8)) == DataAccessResult.SUCCESS
    )
    assert meter.objects[Obis(0, 0, 128, 0, 0, 255)].get_attribute(2, None) == OctetString(
        b"\xaa" * 8
    )


def test_role_on_an_interface_it_may_not_use_is_refused(meter: Meter) -> None:
    password = meter.credentials[2].password
    proposal = AssociationProposal(mechanism=AuthenticationMechanism.LOW, password=password)
    _, event = associate(meter, 2, proposal, interface=Interface.OPTICAL)
    assert isinstance(event, AssociationRefused)
    assert meter.store.logs.records("security")[-1].fields["reason"] == "interface-not-allowed"
    _, event = associate(meter, 2, proposal, interface=Interface.TCP)
    assert isinstance(event, AssociationAccepted)
    _, event = associate(meter, 16, interface=Interface.OPTICAL)
    assert isinstance(event, AssociationAccepted)
