"""The ``securemeter`` command line: help, exit codes, refusals and export-keys."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from meter_process import TEST_CLOCK_ENVIRONMENT, MeterProcess
from securemeter import __version__
from securemeter.cli.main import main
from securemeter.meter.logbook import SECURITY, EventCode
from securemeter.storage import open_store_readonly

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
write = "all"
methods = "all"

[[roles]]
sap = 32
name = "local reader"
mechanism = "low"
security = "none"
interfaces = ["optical"]

[[roles.objects]]
obis = "0.0.1.0.0.255"
read = ["time"]
"""


def securemeter(
    *arguments: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m securemeter.cli.main`` as a user would (bounded in time)."""
    environment = {k: v for k, v in os.environ.items() if k != TEST_CLOCK_ENVIRONMENT}
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "securemeter.cli.main", *arguments],
        capture_output=True,
        text=True,
        timeout=30,
        env=environment,
        check=False,
    )


# ---------------------------------------------------------------------------- usage


@pytest.mark.parametrize(
    "arguments",
    [
        ["--help"],
        ["meter", "--help"],
        ["meter", "serve", "--help"],
        ["meter", "export-keys", "--help"],
    ],
)
def test_help_exits_0(arguments: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(arguments) == 0
    assert "usage: securemeter" in capsys.readouterr().out


def test_serve_help_names_every_option(capsys: pytest.CaptureFixture[str]) -> None:
    main(["meter", "serve", "--help"])
    text = capsys.readouterr().out
    for option in (
        "--state",
        "--host",
        "--port",
        "--hdlc-port",
        "--no-hdlc",
        "--config",
        "--ready-file",
        "--test-clock",
        "--log-level",
    ):
        assert option in text
    assert "SECUREMETER_TEST_CLOCK=1" in text


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"securemeter {__version__}"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["bogus"], "invalid choice"),
        ([], "choose a command"),
        (["meter"], "choose a command"),
        (["meter", "serve", "--port", "70000"], "not a port number"),
        (["meter", "serve", "--port", "http"], "not a port number"),
        (["meter", "serve", "--log-level", "LOUD"], "choose one of"),
        (["meter", "export-keys", "--state", "x"], "--sap"),
        (["meter", "export-keys", "--state", "x", "--sap", "300"], "not a client SAP"),
    ],
)
def test_usage_errors_exit_2(
    arguments: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(arguments) == 2
    assert message in capsys.readouterr().err


def test_python_dash_m_runs_the_cli() -> None:
    result = securemeter("--version")
    assert (result.returncode, result.stdout.strip()) == (0, f"securemeter {__version__}")
    assert securemeter("meter", "serve", "--help").returncode == 0
    unknown = securemeter("frobnicate")
    assert unknown.returncode == 2 and "invalid choice" in unknown.stderr


# ---------------------------------------------------------------------------- serve refusals


def test_the_test_clock_needs_the_environment_variable(tmp_path: Path) -> None:
    state = tmp_path / "state"
    result = securemeter("meter", "serve", "--state", str(state), "--port", "0", "--test-clock")
    assert result.returncode == 2
    assert "SECUREMETER_TEST_CLOCK=1" in result.stderr
    assert result.stdout == ""
    assert not state.exists()  # refused before anything was created


def test_a_bad_test_clock_start_is_a_usage_error(tmp_path: Path) -> None:
    state = str(tmp_path / "s")
    environment = {TEST_CLOCK_ENVIRONMENT: "1"}
    result = securemeter(
        "meter", "serve", "--state", state, "--test-clock", "noon", env=environment
    )
    assert result.returncode == 2
    assert "ISO-8601" in result.stderr and "2026-03-01T12:00:00Z" in result.stderr


def test_a_bad_configuration_is_a_usage_error_naming_the_problem(tmp_path: Path) -> None:
    config = tmp_path / "roles.toml"
    config.write_text('[[roles]]\nsap = 500\nname = "x"\n', encoding="utf-8")
    result = securemeter("meter", "serve", "--state", str(tmp_path / "s"), "--config", str(config))
    assert result.returncode == 2
    assert "roles[0].sap" in result.stderr
    missing = securemeter("meter", "serve", "--config", str(tmp_path / "none.toml"))
    assert missing.returncode == 2 and "cannot read the file" in missing.stderr


def test_a_second_meter_on_the_same_state_exits_3(tmp_path: Path) -> None:
    with MeterProcess(tmp_path / "state", hdlc=False) as running:
        result = securemeter("meter", "serve", "--state", str(running.state_dir), "--port", "0")
        assert result.returncode == 3
        assert f"in use by process {running.pid}" in result.stderr
        assert result.stdout == ""
        assert running.alive


def test_a_port_in_use_is_a_runtime_error_and_a_clean_stop(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        state = tmp_path / "state"
        result = securemeter(
            "meter", "serve", "--state", str(state), "--port", str(port), "--no-hdlc"
        )
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "choose another --port" in result.stderr
    with open_store_readonly(state) as store:
        assert store.state.get("power.running") == b"0"  # it recorded its power-down


# ---------------------------------------------------------------------------- export-keys


@pytest.fixture
def configured_meter(tmp_path: Path) -> Iterator[MeterProcess]:
    config = tmp_path / "roles.toml"
    config.write_text(ROLES, encoding="utf-8")
    process = MeterProcess(tmp_path / "state", config=config, hdlc=False)
    process.start()
    try:
        yield process
    finally:
        process.kill()


def _client(keys: dict[str, Any], sap: int) -> dict[str, Any]:
    entry: dict[str, Any] = next(c for c in keys["clients"] if c["sap"] == sap)
    return entry


def _secrets(keys: dict[str, Any]) -> list[str]:
    return [
        value
        for client in keys["clients"]
        for name in ("password", "ek", "ak", "kek")
        if (value := client[name])
    ]


def test_export_keys_while_the_meter_runs_is_read_only_and_says_so(
    configured_meter: MeterProcess, capsys: pytest.CaptureFixture[str]
) -> None:
    keys = configured_meter.keys
    state = str(configured_meter.state_dir)
    config = str(configured_meter.config)
    assert main(["meter", "export-keys", "--state", state, "--sap", "1", "--config", config]) == 0
    output = capsys.readouterr()
    assert json.loads(output.out) == _client(keys, 1)
    assert "NOT recorded" in output.err
    assert not any(secret in output.err for secret in _secrets(keys))
    security = open_store_readonly(configured_meter.state_dir)
    try:
        assert EventCode.KEYS_EXPORTED not in {
            r.event_code for r in security.logs.records(SECURITY)
        }
    finally:
        security.close()


def test_export_keys_of_a_stopped_meter_is_recorded_and_written_0600(
    configured_meter: MeterProcess, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    keys = configured_meter.keys
    configured_meter.stop()
    assert not any(secret in configured_meter.stderr_text() for secret in _secrets(keys))
    state = str(configured_meter.state_dir)
    config = str(configured_meter.config)
    out = tmp_path / "management.json"
    arguments = ["meter", "export-keys", "--state", state, "--sap", "1", "--config", config]
    assert main([*arguments, "--out", str(out)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary == {
        "event": "keys-exported",
        "sap": 1,
        "role": "management",
        "out": str(out),
        "recorded": True,
    }
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    entry = json.loads(out.read_text())
    assert entry == _client(keys, 1)
    assert len(bytes.fromhex(entry["ek"])) == 16 and entry["mechanism"] == "hls-gmac"
    # An existing file is never overwritten.
    assert main([*arguments, "--out", str(out)]) == 1
    assert "exists" in capsys.readouterr().err
    # The LLS role's password, to stdout.
    assert main(["meter", "export-keys", "--state", state, "--sap", "32", "--config", config]) == 0
    assert json.loads(capsys.readouterr().out)["password"] == _client(keys, 32)["password"]
    with open_store_readonly(configured_meter.state_dir) as store:
        exports = [
            r for r in store.logs.records(SECURITY) if r.event_code == EventCode.KEYS_EXPORTED
        ]
    assert [(r.fields["sap"], r.fields["destination"]) for r in exports] == [
        (1, "file"),
        (32, "stdout"),
    ]
    assert not any(
        secret in json.dumps(dict(r.fields)) for r in exports for secret in _secrets(keys)
    )


def test_export_keys_refusals(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nothing"
    assert main(["meter", "export-keys", "--state", str(missing), "--sap", "16"]) == 1
    assert "holds no meter state" in capsys.readouterr().err
    assert not missing.exists()
    with MeterProcess(tmp_path / "state", hdlc=False) as running:
        state = str(running.state_dir)
        assert main(["meter", "export-keys", "--state", state, "--sap", "99"]) == 2
        assert "known SAPs: 16, 1, 2, 3, 4, 5" in capsys.readouterr().err
        assert main(["meter", "export-keys", "--state", state, "--sap", "16"]) == 0
        assert json.loads(capsys.readouterr().out)["role"] == "public"


def test_a_state_directory_others_can_read_is_refused(tmp_path: Path) -> None:
    state = tmp_path / "shared-state"
    state.mkdir(mode=0o755)
    state.chmod(0o755)
    result = securemeter("meter", "serve", "--state", str(state), "--port", "0", "--no-hdlc")
    assert result.returncode == 1
    assert f"chmod 700 {state}" in result.stderr
    assert list(state.iterdir()) == []
