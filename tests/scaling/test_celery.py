"""Many accounts on Celery: a real redis-server, real worker processes, the demo site, real stores."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import redis
from demo_vendor_site import DemoSite, SiteConfig

from browserkonnector import _errors as errors
from browserkonnector.scaling.celery import TASK_NAME, make_app
from browserkonnector.store._local import LocalStore

from .conftest import DEMO, REPO, Cluster, _free_port, alice_fields

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(420)]


def _submit(cluster: Cluster, account: str, **kwargs: Any) -> Any:
    client = make_app(broker=cluster.redis_url)
    return client.send_task(TASK_NAME, args=[DEMO, account], kwargs=kwargs)


def _bills(store: Path) -> list[dict[str, Any]]:
    async def read() -> list[dict[str, Any]]:
        async with LocalStore(store) as opened:
            return [doc async for doc in opened.all_docs("io.cozy.bills")]

    return asyncio.run(read())


def _pdfs(store: Path) -> list[Path]:
    return sorted(p for p in (store / "files").rglob("*.pdf")) if (store / "files").exists() else []


def test_accounts_run_on_workers_and_results_say_what_was_saved(cluster: Cluster, site: DemoSite) -> None:
    for name in ("acct-1", "acct-2", "acct-3"):
        cluster.add_account(name, alice_fields(site))
    cluster.start_worker("w1")
    cluster.start_worker("w2")
    results = [r.get(timeout=240) for r in [_submit(cluster, n) for n in ("acct-1", "acct-2", "acct-3")]]
    for result in results:
        assert result["ok"], result
        assert result["saved"]["bills_created"] == 8
        assert result["saved"]["files_created"] == 8
        assert result["attempt"] == 1
    # The docs' snippet, as written (the module's app reads BROWSERKONNECTOR_BROKER): an incremental run.
    snippet = (
        f"import json; from browserkonnector.scaling.celery import run_account; "
        f"print(json.dumps(run_account.delay({DEMO!r}, 'acct-1').get(timeout=240)))"
    )
    done = subprocess.run([sys.executable, "-c", snippet], env=cluster.env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    again = json.loads(done.stdout.strip().splitlines()[-1])
    assert again["ok"]
    assert again["saved"]["bills_created"] == 0
    assert again["saved"]["bills_unchanged"] == 8
    by_pid: dict[int, list[int]] = {}
    for result in [*results, again]:
        by_pid.setdefault(result["pid"], []).append(result["browsers_started"])
    assert any(len(counts) > 1 for counts in by_pid.values())  # one worker process ran several tasks...
    assert all(max(counts) == 1 for counts in by_pid.values())  # ...on the one browser it started
    for name in ("acct-1", "acct-2", "acct-3"):
        assert len(_bills(cluster.store(name))) == 8
    # The password never reached the broker or the result backend, nor the workers' logs.
    password = alice_fields(site)["password"]
    client = redis.Redis.from_url(cluster.redis_url)
    for key in client.scan_iter():
        kind = client.type(key).decode()
        values = {
            "string": lambda k: [client.get(k)],
            "list": lambda k: client.lrange(k, 0, -1),
            "hash": lambda k: list(client.hgetall(k).values()),
            "zset": lambda k: client.zrange(k, 0, -1),
            "set": lambda k: list(client.smembers(k)),
        }
        for value in values.get(kind, lambda k: [])(key):
            assert password.encode() not in (value or b""), key
    assert password not in cluster.log("w1") + cluster.log("w2")


def test_retries_follow_the_error_code(cluster: Cluster, site: DemoSite) -> None:
    cluster.env["BROWSERKONNECTOR_MAX_RETRIES"] = "2"
    cluster.add_account("wrong-password", alice_fields(site, password="not-the-password"))
    closed = f"http://127.0.0.1:{_free_port()}"  # nothing listens there: the vendor is down
    cluster.add_account("vendor-down", alice_fields(site, base_url=closed))
    cluster.start_worker("w1")
    wrong = _submit(cluster, "wrong-password").get(timeout=240)
    assert wrong["code"] == errors.LOGIN_FAILED
    assert wrong["attempt"] == 1  # never retried: retrying a wrong password gets accounts locked
    assert site.stats()["logins_failed"] == 1
    down = _submit(cluster, "vendor-down").get(timeout=240)
    assert down["code"] == errors.VENDOR_DOWN
    assert down["attempt"] == 3  # retried twice with backoff, then given up
    assert "Retry in" in cluster.log("w1")


def test_a_vendor_limit_holds_across_workers(cluster: Cluster, site: DemoSite) -> None:
    cluster.env["BROWSERKONNECTOR_VENDOR_LIMITS"] = "demo_vendor=1"
    names = ("lim-1", "lim-2", "lim-3")
    for name in names:
        cluster.add_account(name, alice_fields(site))
    cluster.start_worker("w1")
    cluster.start_worker("w2")
    results = sorted((r.get(timeout=300) for r in [_submit(cluster, n) for n in names]), key=lambda r: r["started"])
    assert all(r["ok"] for r in results), results
    for before, after in itertools.pairwise(results):
        assert before["ended"] <= after["started"], "two runs of one vendor overlapped despite the limit of 1"


def _pool_child(worker_pid: int) -> int:
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat[stat.rindex(")") + 2 :].split()[1]) == worker_pid:
                cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
                if b"celery" in cmdline:
                    return int(entry)
    raise AssertionError("the worker has no pool child")


def test_a_worker_killed_mid_task_loses_no_bill_and_duplicates_none(cluster: Cluster, tmp_path: Path) -> None:
    with DemoSite(SiteConfig(bills=30, latency_ms=120)) as slow:
        cluster.add_account("killed", alice_fields(slow))
        worker = cluster.start_worker("w1")
        pending = _submit(cluster, "killed")
        store = cluster.store("killed")
        deadline = time.monotonic() + 240
        while len(_pdfs(store)) < 3:  # mid-run: some bills and files are saved, most are not
            assert time.monotonic() < deadline, cluster.log("w1")[-3000:]
            time.sleep(0.1)
        saved_before = {p.name for p in _pdfs(store)}
        os.kill(_pool_child(worker.pid), signal.SIGKILL)
        result = pending.get(timeout=300)  # acks_late + reject_on_worker_lost: the task ran again
        assert "WorkerLostError" in cluster.log("w1") or "exited prematurely" in cluster.log("w1")
        assert result["ok"], result
        bills = _bills(store)
        refs = [bill["vendorRef"] for bill in bills]
        assert len(refs) == 30
        assert len(set(refs)) == 30  # no duplicate
        pdfs = _pdfs(store)
        assert len(pdfs) == 30
        assert saved_before <= {p.name for p in pdfs}  # nothing saved before the kill was lost
        assert result["saved"]["files_created"] + result["saved"]["files_kept"] == 30
        assert result["saved"]["files_kept"] >= len(saved_before) or result["saved"]["bills_unchanged"] > 0


def test_the_beat_example_schedules_runs(cluster: Cluster, site: DemoSite) -> None:
    example = REPO / "docs" / "examples" / "celery_accounts"
    cluster.add_account("alice-home", alice_fields(site))
    cluster.env.update({"BK_ACCOUNTS": "alice-home", "BK_EVERY_SECONDS": "3", "PYTHONPATH": str(example)})
    cluster.start_worker("w1", app="celery_app")
    cluster.start_worker("beat", app="celery_app", beat=True)
    deadline = time.monotonic() + 240
    while site.stats().get("logins_ok", 0) < 2:  # at least two scheduled runs logged in
        assert time.monotonic() < deadline, cluster.log("beat")[-2000:] + cluster.log("w1")[-3000:]
        time.sleep(0.5)
    cluster.stop()
    assert len(_bills(cluster.store("alice-home"))) == 8  # the second run added nothing twice


def _redis_server(port: int, folder: Path) -> subprocess.Popen[bytes]:
    """A redis-server with an append-only file, as a broker should run, so that a restart keeps the queue."""
    process = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
            "--save",
            "",
            "--dir",
            str(folder),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = redis.Redis(port=port)
    for _ in range(150):
        try:
            client.ping()
            return process
        except redis.ConnectionError:
            time.sleep(0.1)
    process.kill()
    raise AssertionError("redis-server did not start")


def test_the_broker_down_mid_run_loses_nothing_and_duplicates_nothing(tmp_path: Path) -> None:
    port = _free_port()
    broker = _redis_server(port, tmp_path)
    cluster = Cluster(f"redis://127.0.0.1:{port}/0", tmp_path)
    cluster.env = {k: v for k, v in os.environ.items() if not k.startswith(("COZY_", "BROWSERKONNECTOR_"))}
    cluster.env.update(
        {
            "BROWSERKONNECTOR_BROKER": cluster.redis_url,
            "BROWSERKONNECTOR_ACCOUNTS_DIR": str(tmp_path / "accounts"),
            "BROWSERKONNECTOR_STORES_DIR": str(tmp_path / "stores"),
            "BROWSERKONNECTOR_ARTIFACTS_DIR": str(tmp_path / "artifacts"),
            "BROWSERKONNECTOR_OFFLINE_DNS": "1",
        }
    )
    try:
        with DemoSite(SiteConfig(bills=30, latency_ms=120)) as slow:
            cluster.add_account("broker-down", alice_fields(slow))
            cluster.start_worker("w1")
            pending = _submit(cluster, "broker-down")
            store = cluster.store("broker-down")
            deadline = time.monotonic() + 240
            while len(_pdfs(store)) < 3:
                assert time.monotonic() < deadline, cluster.log("w1")[-3000:]
                time.sleep(0.1)
            broker.kill()  # the broker (and result backend) dies mid-run
            broker.wait()
            while len(_pdfs(store)) < 30:  # the run does not need the broker: it goes on and saves
                assert time.monotonic() < deadline, cluster.log("w1")[-3000:]
                time.sleep(0.2)
            time.sleep(2)
            broker = _redis_server(port, tmp_path)  # back, with its queue (append-only file)
            client = make_app(broker=cluster.redis_url)
            state = client.AsyncResult(pending.id).state
            for _ in range(120):  # the worker reconnects and records how the task ended
                state = client.AsyncResult(pending.id).state
                if state in ("SUCCESS", "FAILURE"):
                    break
                time.sleep(0.5)
            assert state in ("SUCCESS", "FAILURE"), state  # FAILURE: the result could not be stored in time
            assert len(_pdfs(store)) == 30
            refs = [bill["vendorRef"] for bill in _bills(store)]
            assert len(refs) == len(set(refs)) == 30  # everything saved, once
            again = _submit(cluster, "broker-down").get(timeout=240)  # the next run (a retry, the schedule)
            assert again["ok"], again
            assert again["saved"]["bills_created"] == 0
            assert again["saved"]["files_created"] == 0
            assert len(_bills(store)) == 30
    finally:
        cluster.stop()
        broker.terminate()
        broker.wait(10)
