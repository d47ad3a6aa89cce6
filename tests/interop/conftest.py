"""Fixtures of the interop tests: one real meter process per test module."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
import structlog
from tests.interop.harness import running_meter

from meter_process import MeterProcess


@pytest.fixture(autouse=True, scope="session")
def _quiet_dlms_cosem() -> Iterator[None]:
    """dlms-cosem logs every frame through structlog to stdout; keep warnings only."""
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    yield
    structlog.reset_defaults()


@pytest.fixture(scope="module")
def demo_meter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MeterProcess]:
    """The demo meter (public client SAP 16, no authentication), shared by one module."""
    with running_meter(tmp_path_factory.mktemp("meter")) as meter:
        yield meter
