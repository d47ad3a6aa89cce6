"""Coverage-guided fuzzing of the codec decoders with atheris (optional, not a test dependency).

    pip install atheris
    python fuzz/fuzz_axdr.py -max_len=4096 fuzz/corpus/      # fuzz, growing a corpus
    python fuzz/fuzz_axdr.py crash-1234...                   # replay one input

Without atheris the script replays the files given on the command line through the same
checks, so a crash found elsewhere can be reproduced on any machine.

The property: bad input raises DecodeError and nothing else; a value that decodes re-encodes
to bytes that decode to the same encoding again.
"""

from __future__ import annotations

import sys
from pathlib import Path

from securemeter.codec import axdr
from securemeter.codec.cosem_time import CosemDate, CosemDateTime, CosemTime
from securemeter.errors import DecodeError


def check_one_input(data: bytes) -> None:
    try:
        value = axdr.decode_exact(data)
    except DecodeError:
        pass
    else:
        again = axdr.encode(value)
        if axdr.encode(axdr.decode_exact(again)) != again:
            raise AssertionError(f"unstable re-encoding of {data.hex()}")
    try:
        description, end = axdr.decode_type_description(data)
    except DecodeError:
        pass
    else:
        if description.to_bytes() != data[:end]:
            raise AssertionError(f"type description does not round-trip {data.hex()}")
    for parser in (CosemDateTime.from_bytes, CosemDate.from_bytes, CosemTime.from_bytes):
        try:
            parsed = parser(data)
        except DecodeError:
            continue
        if parsed.to_bytes() != data:
            raise AssertionError(f"{parser.__qualname__} does not round-trip {data.hex()}")


def main() -> None:
    try:
        import atheris  # type: ignore[import-untyped, unused-ignore]
    except ImportError:
        paths = [Path(arg) for arg in sys.argv[1:]]
        if not paths:
            sys.exit("atheris is not installed; give input files to replay them")
        for path in paths:
            check_one_input(path.read_bytes())
            print(f"ok {path}")
        return
    atheris.instrument_all()
    atheris.Setup(sys.argv, check_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
