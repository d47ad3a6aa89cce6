"""Per-call cost of AES-GCM-128 with DLMS's 12-byte tag, by way of calling pyca/cryptography.

Run: .venv/bin/python bench/crypto_gcm.py [--quick]

Rows compare the ways to seal (encrypt + 12-byte tag) and open (verify + decrypt) one APDU of
20 and of 1000 bytes:

* ``Cipher GCM``: ``Cipher(AES(key), GCM(iv[, tag, min_tag_length=12]))``, a context per call
  (what dlms-cosem does; the only pyca API that verifies a 12-byte tag directly);
* ``AESGCM new``: ``AESGCM(key)`` built per call (16-byte tag, truncated to 12 when sealing);
* ``AESGCM cached``: one ``AESGCM`` object per key, reused;
* ``CTR + AESGCM``: open by decrypting with ``Cipher(AES, CTR(iv || 00000002))``, then
  re-sealing with the cached AESGCM to recompute the tag;
* ``2 x AESGCM``: open by two cached ``AESGCM.encrypt`` calls (keystream, then re-seal);
* ``securemeter gcm_*``: what ``securemeter.security._suite0`` does (the ``2 x AESGCM`` way,
  plus argument checks and the key cache lookup);
* ``protect``/``unprotect 0x30``: the whole security header and payload of SC 0x30.

Every variant's output is checked against the ``Cipher GCM`` reference before it is timed.
"""

from __future__ import annotations

import argparse
import functools
import hmac
import os
import timeit
from collections.abc import Callable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from securemeter.errors import AuthenticationFailed
from securemeter.security import _suite0
from securemeter.security.protect import protect, unprotect

TAG = 12
SIZES = (20, 1000)
SYSTEM_TITLE = bytes.fromhex("4D4D4D0000BC614E")
INVOCATION_COUNTER = 0x01234567
KEY = bytes.fromhex("000102030405060708090A0B0C0D0E0F")
AUTHENTICATION_KEY = bytes.fromhex("D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF")
IV = SYSTEM_TITLE + INVOCATION_COUNTER.to_bytes(4, "big")
AAD = b"\x30" + AUTHENTICATION_KEY
CACHED = AESGCM(KEY)

Seal = Callable[[bytes], tuple[bytes, bytes]]
Open = Callable[[bytes, bytes], bytes]


def seal_cipher(plaintext: bytes) -> tuple[bytes, bytes]:
    encryptor = Cipher(algorithms.AES(KEY), modes.GCM(IV)).encryptor()
    encryptor.authenticate_additional_data(AAD)
    ciphertext = encryptor.update(plaintext) + encryptor.finalize()
    return ciphertext, encryptor.tag[:TAG]


def seal_aesgcm_new(plaintext: bytes) -> tuple[bytes, bytes]:
    sealed = AESGCM(KEY).encrypt(IV, plaintext, AAD)
    return sealed[:-16], sealed[-16:-4]


def seal_aesgcm_cached(plaintext: bytes) -> tuple[bytes, bytes]:
    sealed = CACHED.encrypt(IV, plaintext, AAD)
    return sealed[:-16], sealed[-16:-4]


def seal_securemeter(plaintext: bytes) -> tuple[bytes, bytes]:
    sealed = _suite0.gcm_seal(KEY, IV, AAD, plaintext)
    return sealed[:-TAG], sealed[-TAG:]


def open_cipher(ciphertext: bytes, tag: bytes) -> bytes:
    decryptor = Cipher(algorithms.AES(KEY), modes.GCM(IV, tag, min_tag_length=TAG)).decryptor()
    decryptor.authenticate_additional_data(AAD)
    return decryptor.update(ciphertext) + decryptor.finalize()


def open_ctr_then_aesgcm(ciphertext: bytes, tag: bytes) -> bytes:
    decryptor = Cipher(algorithms.AES(KEY), modes.CTR(IV + b"\x00\x00\x00\x02")).decryptor()
    plaintext = decryptor.update(ciphertext) + decryptor.finalize()
    expected = CACHED.encrypt(IV, plaintext, AAD)[len(plaintext) : len(plaintext) + TAG]
    if not hmac.compare_digest(expected, tag):
        raise InvalidTag
    return plaintext


def open_two_aesgcm(ciphertext: bytes, tag: bytes) -> bytes:
    size = len(ciphertext)
    plaintext = CACHED.encrypt(IV, ciphertext, b"")[:size]
    if not hmac.compare_digest(CACHED.encrypt(IV, plaintext, AAD)[size : size + TAG], tag):
        raise InvalidTag
    return plaintext


def open_securemeter(ciphertext: bytes, tag: bytes) -> bytes:
    return _suite0.gcm_open(KEY, IV, AAD, ciphertext, tag)


SEALS: list[tuple[str, Seal]] = [
    ("Cipher GCM", seal_cipher),
    ("AESGCM new", seal_aesgcm_new),
    ("AESGCM cached", seal_aesgcm_cached),
    ("securemeter gcm_seal", seal_securemeter),
]
OPENS: list[tuple[str, Open]] = [
    ("Cipher GCM (12-byte tag)", open_cipher),
    ("CTR + AESGCM cached", open_ctr_then_aesgcm),
    ("2 x AESGCM cached", open_two_aesgcm),
    ("securemeter gcm_open", open_securemeter),
]


def per_call_microseconds(call: Callable[[], object], budget: float) -> float:
    """Best of five runs, each sized to take about ``budget`` / 5 seconds."""
    timer = timeit.Timer(call)
    number, elapsed = timer.autorange()
    number = max(1, int(number * (budget / 5) / max(elapsed, 1e-9)))
    return min(timer.repeat(repeat=5, number=number)) / number * 1e6


def check(plaintexts: dict[int, bytes], sealed: dict[int, tuple[bytes, bytes]]) -> None:
    """Every variant must agree with the Cipher/GCM reference and refuse a forged tag."""
    for name, seal in SEALS:
        for size, plaintext in plaintexts.items():
            assert seal(plaintext) == sealed[size], name
    for name, opener in OPENS:
        for size, (ciphertext, tag) in sealed.items():
            assert opener(ciphertext, tag) == plaintexts[size], name
            try:
                opener(ciphertext, bytes((tag[0] ^ 1,)) + tag[1:])
            except (InvalidTag, AuthenticationFailed):
                continue
            raise AssertionError(f"{name} accepted a forged tag")


def protect_0x30(plaintext: bytes) -> bytes:
    return protect(0x30, SYSTEM_TITLE, INVOCATION_COUNTER, KEY, AUTHENTICATION_KEY, plaintext)


def unprotect_0x30(payload: bytes) -> bytes:
    return unprotect(payload, SYSTEM_TITLE, KEY, AUTHENTICATION_KEY).apdu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter runs, noisier numbers")
    budget = 0.05 if parser.parse_args().quick else 0.25
    plaintexts = {size: os.urandom(size) for size in SIZES}
    sealed = {size: seal_cipher(plaintext) for size, plaintext in plaintexts.items()}
    payloads = {size: protect_0x30(plaintext) for size, plaintext in plaintexts.items()}
    check(plaintexts, sealed)
    assert all(unprotect_0x30(payloads[size]) == plaintexts[size] for size in SIZES)

    calls: list[tuple[str, str, list[Callable[[], object]]]] = []
    for name, seal in SEALS:
        calls.append(("seal", name, [functools.partial(seal, plaintexts[n]) for n in SIZES]))
    for name, opener in OPENS:
        calls.append(("open", name, [functools.partial(opener, *sealed[n]) for n in SIZES]))
    calls.append(
        ("seal", "protect 0x30", [functools.partial(protect_0x30, plaintexts[n]) for n in SIZES])
    )
    calls.append(
        ("open", "unprotect 0x30", [functools.partial(unprotect_0x30, payloads[n]) for n in SIZES])
    )

    header = f"{'op':<5} {'variant':<28}" + "".join(f"{f'{n} B (us)':>13}" for n in SIZES)
    print(header)
    print("-" * len(header))
    for operation, name, per_size in calls:
        times = [per_call_microseconds(call, budget) for call in per_size]
        print(f"{operation:<5} {name:<28}" + "".join(f"{t:>13.2f}" for t in times))


if __name__ == "__main__":
    main()
