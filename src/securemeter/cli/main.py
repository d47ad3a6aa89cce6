"""Console entry point ``securemeter`` (also ``python -m securemeter.cli.main``).

Exit codes: 0 success, 1 runtime error, 2 usage error (bad option, bad configuration),
3 the state directory is locked by another process (a meter runs on it).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from securemeter import __version__
from securemeter.cli._common import LOG_LEVELS, CliError, ExitCode
from securemeter.cli.init import add_init_command
from securemeter.cli.logs import add_logs_command
from securemeter.cli.unlock import add_unlock_command
from securemeter.errors import SecuremeterError

Command = Callable[[argparse.Namespace], int]


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= port <= 0xFFFF:
        raise argparse.ArgumentTypeError(f"{port} is not a port number (0..65535; 0 = any free)")
    return port


def _sap(text: str) -> int:
    try:
        sap = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a client SAP number") from None
    if not 0 <= sap <= 0x7F:
        raise argparse.ArgumentTypeError(f"{sap} is not a client SAP (0..127)")
    return sap


def _log_level(text: str) -> str:
    level = text.upper()
    if level not in LOG_LEVELS:
        raise argparse.ArgumentTypeError(f"{text!r}: choose one of {', '.join(LOG_LEVELS)}")
    return level


def _serve(arguments: argparse.Namespace) -> int:
    from securemeter.cli.serve import serve  # the event loop only when serving

    return serve(arguments)


def _export_keys(arguments: argparse.Namespace) -> int:
    from securemeter.cli.export_keys import export_keys

    return export_keys(arguments)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="securemeter",
        description="A security-first DLMS/COSEM (IEC 62056) meter and head-end.",
        epilog="exit codes: 0 ok, 1 runtime error, 2 usage error, 3 state directory locked",
    )
    parser.add_argument("--version", action="version", version=f"securemeter {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    meter = commands.add_parser(
        "meter", help="run or administer a meter", description="Run or administer a meter."
    )
    meter_commands = meter.add_subparsers(title="meter commands", metavar="COMMAND")

    serve = meter_commands.add_parser(
        "serve",
        help="run the meter until SIGTERM or SIGINT",
        description=(
            "Run the meter on a state directory: the IEC 62056-47 wrapper over TCP and HDLC "
            "over TCP (a stand-in for the optical port). Prints one JSON ready line on stdout "
            "when it accepts connections; logs go to stderr. On the first run it creates the "
            "meter's identity and credentials and writes them to DIR/keys.json (mode 0600)."
        ),
    )
    serve.add_argument(
        "--state",
        metavar="DIR",
        default="./meter-state",
        help="state directory (default: %(default)s)",
    )
    serve.add_argument(
        "--host",
        metavar="H",
        default="127.0.0.1",
        help="address to listen on (default: %(default)s)",
    )
    serve.add_argument(
        "--port",
        metavar="N",
        type=_port,
        default=None,
        help=(
            "wrapper TCP port, 0 = any free port (default: the port stored in the TCP-UDP "
            "setup object 0.0.25.0.0.255, 4059 on a new meter)"
        ),
    )
    serve.add_argument(
        "--hdlc-port",
        metavar="N",
        type=_port,
        default=4061,
        help="HDLC-over-TCP port, 0 = any free port (default: %(default)s)",
    )
    serve.add_argument("--no-hdlc", action="store_true", help="do not serve HDLC over TCP")
    serve.add_argument(
        "--config", metavar="FILE", help="roles and interfaces from a TOML file (default: demo)"
    )
    serve.add_argument(
        "--ready-file", metavar="PATH", help="also write the ready JSON to PATH (atomically)"
    )
    serve.add_argument(
        "--test-clock",
        metavar="START",
        nargs="?",
        const="",
        help=(
            "FOR TESTS ONLY (needs SECUREMETER_TEST_CLOCK=1): time stands still and moves only "
            "through DIR/test-clock.sock; START is an ISO-8601 UTC time (default: where the "
            "last test-clock run stopped, else 2026-01-01T00:00:00Z)"
        ),
    )
    serve.add_argument(
        "--log-level",
        metavar="LEVEL",
        type=_log_level,
        default="INFO",
        help=f"one of {', '.join(LOG_LEVELS)} (default: %(default)s)",
    )
    serve.set_defaults(command=_serve)

    export = meter_commands.add_parser(
        "export-keys",
        help="print one client role's credentials as JSON",
        description=(
            "Print (or write with mode 0600) one client role's credentials as a keys.json "
            "entry. Recorded in the meter's security log unless a meter is running on DIR."
        ),
    )
    export.add_argument("--state", metavar="DIR", required=True, help="state directory")
    export.add_argument("--sap", metavar="N", type=_sap, required=True, help="client SAP")
    export.add_argument("--out", metavar="FILE", help="write a new file (mode 0600), not stdout")
    export.add_argument(
        "--config", metavar="FILE", help="the TOML file the meter runs with (default: demo)"
    )
    export.set_defaults(command=_export_keys)

    add_init_command(meter_commands)
    add_unlock_command(meter_commands)
    add_logs_command(meter_commands)

    # A group without its command prints its help and fails as a usage error.
    parser.set_defaults(command=_missing(parser))
    meter.set_defaults(command=_missing(meter))
    return parser


def _missing(parser: argparse.ArgumentParser) -> Command:
    def command(arguments: argparse.Namespace) -> int:
        parser.print_usage(sys.stderr)
        sys.stderr.write(f"{parser.prog}: error: choose a command (see {parser.prog} --help)\n")
        return ExitCode.USAGE

    return command


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        arguments = parser.parse_args(argv)
    except SystemExit as exit_request:  # --help, --version, or a usage error (code 2)
        code = exit_request.code
        return code if isinstance(code, int) else ExitCode.USAGE
    command: Command = arguments.command
    try:
        return command(arguments)
    except CliError as error:
        sys.stderr.write(f"securemeter: error: {error}\n")
        return error.code
    except (SecuremeterError, OSError) as error:  # a failure with a readable message
        sys.stderr.write(f"securemeter: error: {error}\n")
        return ExitCode.RUNTIME_ERROR
    except KeyboardInterrupt:
        return ExitCode.RUNTIME_ERROR


if __name__ == "__main__":
    sys.exit(main())
