"""Fixtures of the interop tests: one real meter process per test module."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
import structlog
from tests.interop.harness import running_meter

from meter_process import MeterProcess
from securemeter.meter.config_file import object_catalogue
from securemeter.meter.lockout import lockout_objects


@pytest.fixture(autouse=True, scope="session")
def _quiet_dlms_cosem() -> Iterator[None]:
    """dlms-cosem logs every frame through structlog to stdout; keep warnings only."""
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    yield
    structlog.reset_defaults()


# A public client (SAP 16, no authentication) that reads every object, as the demo's public
# client did before the default roles (docs/ACCESS.md): that role now reads only the clock,
# identity, its association and the counters. The lockout objects are left out: their class
# (8193, manufacturer specific) makes dlms-cosem 25.1's object-list parser fail (it accepts
# only the class ids it knows); gurux-dlms lists them as unknown objects.
def _read_all_public() -> str:
    lockouts = {name for name, _ in lockout_objects()}
    names = [name for name in object_catalogue(1) if name not in lockouts]
    role = (
        '[[roles]]\nsap = 16\nname = "public"\nmechanism = "none"\nsecurity = "none"\n'
        'interfaces = ["tcp", "optical"]\n'
    )
    return role + "".join(f'[[roles.objects]]\nobis = "{name}"\nread = "all"\n' for name in names)


READ_ALL_PUBLIC = _read_all_public()


@pytest.fixture(scope="module")
def demo_meter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MeterProcess]:
    """The demo meter with a public client that reads everything, shared by one module."""
    with running_meter(tmp_path_factory.mktemp("meter"), READ_ALL_PUBLIC) as meter:
        yield meter
