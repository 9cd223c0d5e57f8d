"""A 100 MB upload never sits whole in memory: peak RSS growth, measured in a fresh subprocess.

The subprocess runs the stack emulator (server thread, streaming into a LocalStore) *and* the
CozyStackStore client, warms every code path with a small file, then uploads 100 MB from a path and
100 MB from an async iterable (spooled to a temporary file for its digest), and streams it back; then, as
a control, uploads the same 100 MB held as ``bytes``, which must show in the measure. Peak
resident memory is measured per phase (the kernel's peak, ``VmHWM``, reset at the start of each phase
through ``/proc/self/clear_refs``) and may grow by far less than the file: memory is a quantity, not a
timing, so asserting on it is honest.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SIZE = 100 * 1024 * 1024
LIMIT_MB = 30

PROBE = textwrap.dedent('''
    import asyncio, gc, hashlib, json, os, re, sys, time
    from pathlib import Path

    from browserkonnector.store._base import ROOT_DIR_ID
    from browserkonnector.store._cozy import CozyStackStore
    from browserkonnector.testing._emulator import StackEmulator

    root, size = Path(sys.argv[1]), int(sys.argv[2])

    def status(key):
        text = Path("/proc/self/status").read_text()
        return int(re.search(key + r":\\s+(\\d+)", text).group(1)) / 1024  # kB -> MB

    class Phase:
        """Peak RSS growth during one phase: the peak (VmHWM) is reset at its start (clear_refs 5)."""

        def __enter__(self):
            gc.collect()
            Path("/proc/self/clear_refs").write_text("5")
            self.start = status("VmRSS")
            return self

        def __exit__(self, *exc):
            self.growth = status("VmHWM") - self.start

    def write_source(path):
        block = os.urandom(1 << 20)
        digest = hashlib.md5()
        with path.open("wb") as fh:
            for i in range(size >> 20):
                chunk = block[i % 251:] + block[:i % 251]
                digest.update(chunk)
                fh.write(chunk)
        return digest.hexdigest()

    async def chunks(path):
        with path.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                yield chunk

    async def main(emu, source, expected):
        result = {}
        async with CozyStackStore(emu.url, emu.token) as store:
            small = await store.upload(ROOT_DIR_ID, "warmup.bin", os.urandom(3 << 20))
            async for _ in store.iter_download(small.id):
                pass
            started = time.perf_counter()
            with Phase() as path_upload:
                from_path = await store.upload(ROOT_DIR_ID, "from-path.bin", source)
            with Phase() as stream_upload:
                from_stream = await store.upload(ROOT_DIR_ID, "from-stream.bin", chunks(source))
            digest = hashlib.md5()
            with Phase() as download:
                async for chunk in store.iter_download(from_path.id):
                    digest.update(chunk)
            result["seconds"] = round(time.perf_counter() - started, 2)
            # control: the same measure sees a whole-file buffer when there is one
            with Phase() as held_in_memory:
                whole = source.read_bytes()
                await store.upload(ROOT_DIR_ID, "from-bytes.bin", whole)
            result["growth_mb"] = {name: round(phase.growth, 1) for name, phase in [
                ("path_upload", path_upload), ("stream_upload", stream_upload), ("download", download),
                ("control_bytes_upload", held_in_memory)]}
            result["rss_mb"] = round(status("VmRSS"), 1)
            result["sizes"] = [from_path.size, from_stream.size]
            result["roundtrip_ok"] = digest.hexdigest() == expected
            result["same_md5"] = from_path.md5sum == from_stream.md5sum
        return result

    source = root / "source.bin"
    expected = write_source(source)
    with StackEmulator(root / "cozy") as emu:
        print(json.dumps(asyncio.run(main(emu, source, expected))))
''')


@pytest.mark.slow
def test_100mb_upload_keeps_memory_flat_emulator(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(tmp_path), str(SIZE)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"memory of a {SIZE >> 20} MB upload to the emulator: {result}")  # shown with -s, for the report
    assert result["sizes"] == [SIZE, SIZE]
    assert result["roundtrip_ok"]
    assert result["same_md5"]
    growth = result["growth_mb"]
    for phase in ("path_upload", "stream_upload", "download"):
        assert growth[phase] < LIMIT_MB, f"{phase}: peak RSS grew by {growth[phase]} MB for a {SIZE >> 20} MB file"
    assert growth["control_bytes_upload"] > 0.9 * (SIZE >> 20)  # the probe is not blind
