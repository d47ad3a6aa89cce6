"""Fixtures for the storage tests: the same contract runs against both implementations."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from securemeter.storage import AesGcmSealer, MemoryStore, Sealer, open_store
from securemeter.storage.base import MeterStore

SEALING_KEY = bytes.fromhex("000102030405060708090a0b0c0d0e0f")

StoreFactory = Callable[..., MeterStore]


@pytest.fixture(params=["memory", "sqlite"])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreFactory]:
    """A factory for a fresh store of one implementation; stores are closed afterwards."""
    opened: list[MeterStore] = []

    def factory(*, sealer: Sealer | None = None, counter_block: int = 1000) -> MeterStore:
        store: MeterStore
        if request.param == "memory":
            store = MemoryStore(sealer=sealer, counter_block=counter_block)
        else:
            store = open_store(
                tmp_path / f"state{len(opened)}", sealer=sealer, counter_block=counter_block
            )
        opened.append(store)
        return store

    yield factory
    for store in opened:
        store.close()


@pytest.fixture
def store(make_store: StoreFactory) -> MeterStore:
    return make_store(sealer=AesGcmSealer(SEALING_KEY), counter_block=3)
