"""A writer process for the crash and concurrency tests (run as a script, never collected).

``python _writer.py ROOT loop SEED`` — upload, overwrite, rename and destroy files in ``/crash`` forever,
printing ``ready`` once the store is open; the crash test kills it with SIGKILL at random moments.

``python _writer.py ROOT batch SEED`` — the same forever, but six changes at a time (uploads and
overwrites in flight together), so that they are written in batches (group commit) when killed.

``python _writer.py ROOT race TAG N`` — ``N`` rounds of: upload a file of its own, try to take a name
shared with the other writer, overwrite its own previous file; then print a JSON summary.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import sys

import anyio

from browserkonnector.store._base import AppInfo, md5_base64
from browserkonnector.store._errors import Conflict
from browserkonnector.store._local import LocalStore


async def loop(root: str, seed: int) -> None:
    rnd = random.Random(seed)
    store = await LocalStore.open(root, app=AppInfo("crash-writer", "1"))
    folder = await store.mkdir_p("/crash")
    print("ready", flush=True)
    n = 0
    while True:
        n += 1
        files = [f async for f in store.list_dir(folder.id)]
        action = rnd.random()
        body = os.urandom(rnd.randrange(0, 300_000))
        if not files or action < 0.4:
            with contextlib.suppress(Conflict):
                await store.upload(folder.id, f"f{seed}-{n}.bin", body, md5=md5_base64(body))
        elif action < 0.8:
            await store.overwrite(rnd.choice(files).id, body)
        elif action < 0.9:
            await store.update_file(rnd.choice(files).id, name=f"renamed{seed}-{n}.bin")
        else:
            await store.destroy(rnd.choice(files).id)


async def batch(root: str, seed: int) -> None:
    rnd = random.Random(seed)
    store = await LocalStore.open(root, app=AppInfo("batch-writer", "1"))
    folder = await store.mkdir_p("/crash")
    print("ready", flush=True)
    n = 0

    async def upload(name: str, body: bytes) -> None:
        with contextlib.suppress(Conflict):
            await store.upload(folder.id, name, body, md5=md5_base64(body))

    while True:
        files = [f async for f in store.list_dir(folder.id)]
        async with anyio.create_task_group() as group:
            for _ in range(6):
                n += 1
                body = os.urandom(rnd.randrange(0, 200_000))
                if files and rnd.random() < 0.3:
                    group.start_soon(store.overwrite, files.pop(rnd.randrange(len(files))).id, body)
                else:
                    group.start_soon(upload, f"b{seed}-{n}.bin", body)


async def race(root: str, tag: str, rounds: int) -> None:
    store = await LocalStore.open(root, app=AppInfo(f"writer-{tag}", "1"))
    won, lost, mine = 0, 0, []
    for i in range(rounds):
        folder = await store.mkdir_p(f"/race/round-{i % 5}")  # both writers create the same folders
        body = f"{tag}-{i}".encode() * 100
        mine.append((await store.upload(folder.id, f"{tag}-{i}.bin", body)).id)
        try:
            await store.upload(folder.id, f"shared-{i}.bin", f"shared by {tag}".encode())
            won += 1
        except Conflict:
            lost += 1
        if i:
            await store.overwrite(mine[i - 1], body + b"+overwritten")
        await store.bulk_save("io.cozy.bills", [{"tag": tag, "i": i}])
    await store.close()
    print(json.dumps({"won": won, "lost": lost, "files": len(mine)}), flush=True)


if __name__ == "__main__":
    if sys.argv[2] == "loop":
        anyio.run(loop, sys.argv[1], int(sys.argv[3]))
    elif sys.argv[2] == "batch":
        anyio.run(batch, sys.argv[1], int(sys.argv[3]))
    else:
        anyio.run(race, sys.argv[1], sys.argv[3], int(sys.argv[4]))
