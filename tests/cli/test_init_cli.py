"""``securemeter meter init --import-keys``: secrets imported once; exit codes 0, 1, 2, 3."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from meter_harness import associate, make_meter
from securemeter.apdu.enums import AuthenticationMechanism
from securemeter.cli.main import main
from securemeter.cli.serve import KEYS_DELIVERED_KEY, _deliver_keys
from securemeter.meter.config_file import load_config
from securemeter.meter.identity import IDENTITY_KEY
from securemeter.meter.logbook import SECURITY, EventCode
from securemeter.session.connection import AssociationProposal
from securemeter.session.events import AssociationAccepted
from securemeter.storage import open_store, open_store_readonly

ROLES = """
[[roles]]
sap = 16
name = "public"
mechanism = "none"
security = "none"
interfaces = ["tcp", "optical"]

[[roles.objects]]
obis = "0.0.1.0.0.255"
read = "all"

[[roles]]
sap = 1
name = "management"
mechanism = "hls-gmac"
security = "auth-enc"
interfaces = ["tcp"]

[[roles.objects]]
obis = "*"
read = "all"

[[roles]]
sap = 32
name = "local reader"
mechanism = "low"
security = "none"
interfaces = ["tcp"]

[[roles.objects]]
obis = "0.0.1.0.0.255"
read = ["time"]
"""
PASSWORD = "local-reader-pw"
EK = "2122232425262728292a2b2c2d2e2f30"
AK = "3132333435363738393a3b3c3d3e3f40"
KEK = "4142434445464748494a4b4c4d4e4f50"
KEYS = {"clients": [{"sap": 32, "password": PASSWORD}, {"sap": 1, "ek": EK, "ak": AK, "kek": KEK}]}


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path, Path]:
    config = tmp_path / "roles.toml"
    config.write_text(ROLES, encoding="utf-8")
    keys = tmp_path / "import.json"
    keys.write_text(json.dumps(KEYS), encoding="utf-8")
    return tmp_path / "state", config, keys


def init(state: Path, config: Path | None, keys: Path) -> int:
    options = ["--config", str(config)] if config is not None else []
    return main(["meter", "init", "--state", str(state), *options, "--import-keys", str(keys)])


def test_init_imports_once_and_the_meter_serves_the_imported_secrets(
    files: tuple[Path, Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    state, config, keys = files
    assert init(state, config, keys) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["event"] == "keys-imported"
    assert summary["imported"] == [
        {"sap": 32, "role": "local reader"},
        {"sap": 1, "role": "management"},
    ]
    assert summary["generated_at_start"] == []
    reader = open_store_readonly(state)
    try:
        assert reader.state.get(IDENTITY_KEY) is not None
        assert reader.state.get(KEYS_DELIVERED_KEY) is not None
        assert reader.keys.get_key("sap1", "kek") == bytes.fromhex(KEK)
        imports = [
            r
            for r in reader.logs.records(SECURITY)
            if r.event_code == EventCode.GLOBAL_KEYS_CHANGED
        ]
        assert {(r.fields["target_sap"], r.fields["cause"]) for r in imports} == {
            (32, "imported"),
            (1, "imported"),
        }
        text = json.dumps([dict(r.fields) for r in reader.logs.records(SECURITY)])
        assert PASSWORD not in text and EK not in text
    finally:
        reader.close()

    # The meter on that state directory uses them, and serve would not write keys.json.
    store = open_store(state)
    try:
        meter = make_meter(load_config(config), store=store)
        assert meter.credentials[1].encryption_key == bytes.fromhex(EK)
        proposal = AssociationProposal(
            mechanism=AuthenticationMechanism.LOW, password=PASSWORD.encode()
        )
        _, event = associate(meter, 32, proposal)
        assert isinstance(event, AssociationAccepted)
        _deliver_keys(meter, state / "keys.json", first_run=False)
        assert not (state / "keys.json").exists()
    finally:
        store.close()

    # Once the store holds secrets, it is authoritative: a second import is refused.
    assert init(state, config, keys) == 1
    assert "already holds secrets of SAP 32" in capsys.readouterr().err


def test_roles_left_out_are_reported_for_generation(
    files: tuple[Path, Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    state, config, keys = files
    keys.write_text(json.dumps({"clients": [KEYS["clients"][0]]}), encoding="utf-8")
    assert init(state, config, keys) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["generated_at_start"] == [{"sap": 1, "role": "management"}]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"clients": [{"sap": 1, "ek": "00", "ak": null, "kek": null}]}', "clients[0].ek:"),
        ('{"clients": [{"sap": 5}]}', "clients[0].sap: no role has SAP 5"),
        ('{"clients": [{"sap": 32, "password": "\\u00e9"}]}', "clients[0].password:"),
        ("not json", "$: not JSON"),
        (b"\xff\xfe", "$: not UTF-8"),
    ],
)
def test_malformed_key_files_are_usage_errors_naming_the_path(
    files: tuple[Path, Path, Path],
    capsys: pytest.CaptureFixture[str],
    content: str | bytes,
    message: str,
) -> None:
    state, config, keys = files
    if isinstance(content, bytes):
        keys.write_bytes(content)
    else:
        keys.write_text(content, encoding="utf-8")
    assert init(state, config, keys) == 2
    error = capsys.readouterr().err
    assert message in error and str(keys) in error
    assert not state.exists()  # refused before the state directory was touched


def test_usage_errors(files: tuple[Path, Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    state, config, keys = files
    assert main(["meter", "init", "--state", str(state)]) == 2  # --import-keys is required
    assert init(state, config, state.parent / "missing.json") == 2
    assert "cannot read the key file" in capsys.readouterr().err
    config.write_text("[[roles]]\nsap = 'x'\n", encoding="utf-8")
    assert init(state, config, keys) == 2
    assert not state.exists()


def test_demo_configuration_and_a_locked_state_directory(
    files: tuple[Path, Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    state, _, keys = files
    # The demo roles: SAP 32 does not exist there.
    assert init(state, None, keys) == 2
    assert "clients[0].sap: no role has SAP 32" in capsys.readouterr().err
    keys.write_text(json.dumps({"clients": [{"sap": 1, "ek": EK, "ak": AK, "kek": KEK}]}))
    holder = open_store(state)  # a running meter holds the lock
    try:
        assert init(state, None, keys) == 3
        assert "in use by process" in capsys.readouterr().err
        assert holder.keys.owners() == []
    finally:
        holder.close()
    assert init(state, None, keys) == 0
