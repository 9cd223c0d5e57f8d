"""Fixtures of the CozyStackStore tests: a stack emulator on loopback over a LocalStore in tmp_path.

The emulator serves the cozy-stack protocol *as documented* (see ``browserkonnector.testing._emulator``),
so these tests prove the client speaks that protocol, not that a real stack accepts it; their names end
in ``_emulator`` to say so.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from browserkonnector.store._cozy import CozyStackStore
from browserkonnector.testing._emulator import StackEmulator

from .helpers import APP, SleepRecorder


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[StackEmulator]:
    with StackEmulator(tmp_path / "cozy", slug=APP.slug, version=APP.version) as emu:
        yield emu


@pytest.fixture
def waits() -> SleepRecorder:
    return SleepRecorder()


@pytest.fixture
async def cozy(emulator: StackEmulator, waits: SleepRecorder) -> AsyncIterator[CozyStackStore]:
    async with CozyStackStore(emulator.url, emulator.token, app=APP, retry_options={"sleep": waits}) as store:
        yield store
