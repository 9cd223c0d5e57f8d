"""Workload 10: a run that restores its kept session against a run that logs in, nothing new on the site.

The connector is ``docs/examples/kept_session`` (it declares its login and its logged-in check), as the
demo site's account with a TOTP second factor, through the CLI; the store already holds every bill.

- *cold*: ``--fresh-session``: the kept session is discarded, the run logs in and passes the second factor;
- *restored*: the same command without it: the session kept by the previous run is restored and checked.

Variants alternate, so each restored run restores the session the cold run before it made. Each run is
checked on the site's counters — cold: one login request and one second-factor request; restored: none
of either — and a run that does otherwise fails the workload. "Cold start to logged in" is the time from
spawning the process to the log line saying the run is logged in (``session restored: ...`` or
``logged in``), read from the line's own timestamp.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from tempfile import TemporaryDirectory

from benchlib.common import REPO, VENV_BIN, BenchError, child_env, demo_site, site_requests
from benchlib.procs import Outcome, run_timed
from benchlib.report import Row
from benchlib.w_runs import Samples, interleave

CONNECTOR = REPO / "docs" / "examples" / "kept_session"
OTP_LOGIN = "bob@demo-energie.test"
OTP_PASSWORD = "B0b-Otp-Password-77&"  # the demo site's public fixture account with a second factor
OTP_SEED = "KRSXG5CTMVRXEZLUGEZDGNBVGY3TQOJQ"  # its public TOTP seed (printed by the demo site)
LOGGED_IN = ("session restored: logged in without a login", "logged in")


def _command(url: str, store: Path, *extra: str) -> list[str]:
    return [
        str(VENV_BIN / "browserkonnector"),
        "run",
        str(CONNECTOR),
        "--store",
        str(store),
        "--field",
        f"base_url={url}",
        "--field",
        f"login={OTP_LOGIN}",
        "--field",
        f"password={OTP_PASSWORD}",
        "--field",
        f"otp_secret={OTP_SEED}",
        "--offline-dns",
        "--trace",
        "off",
        "--log",
        "json",
        *extra,
    ]


def _logged_in_after(outcome: Outcome, spawned: float) -> float:
    """Seconds from spawn to the first "logged in" line (its own UTC timestamp)."""
    for line in outcome.stdout.splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if event.get("message") in LOGGED_IN:
            stamp = datetime.fromisoformat(str(event["time"]).replace("Z", "+00:00")).timestamp()
            return stamp - spawned
    raise BenchError("the run never said it was logged in: " + outcome.describe_failure())


def session_restore(bills: int, runs: int, log: Callable[[str], None]) -> list[Row]:
    log(f"workload 10: restored session vs cold login (second factor), {bills} bills all saved, {runs} rounds")
    with TemporaryDirectory(prefix="bk-bench-") as tmp, demo_site(bills) as site:
        store = Path(tmp) / "store"
        env = child_env(BROWSERKONNECTOR_VAULT_KEY_FILE=str(Path(tmp) / "vault.key"))
        first = run_timed(_command(site.url, store), env=env, cwd=Path(tmp))  # untimed: fills the store
        if not first.ok:
            raise BenchError("the first run failed: " + first.describe_failure())
        logged_in: dict[str, list[float]] = {"cold": [], "restored": []}

        def variant(name: str, *extra: str) -> Callable[[], Outcome]:
            def run() -> Outcome:
                before = site_requests(site.url)
                spawned = time.time()
                outcome = run_timed(_command(site.url, store, *extra), env=env, cwd=Path(tmp))
                if not outcome.ok or "saved 0 new bill(s)" not in outcome.stdout:
                    raise BenchError(f"{name}: not an incremental run with nothing new: " + outcome.describe_failure())
                after = site_requests(site.url)
                delta = {route: after.get(route, 0) - before.get(route, 0) for route in ("login", "otp")}
                expected = {"login": 1, "otp": 1} if name == "cold" else {"login": 0, "otp": 0}
                if delta != expected:
                    raise BenchError(f"{name}: the site saw {delta} (login, second factor), expected {expected}")
                logged_in[name].append(_logged_in_after(outcome, spawned))
                return outcome

            return run

        samples = Samples()
        interleave({"cold": variant("cold", "--fresh-session"), "restored": variant("restored")}, runs, samples, log)
    return [
        Row(
            "10",
            f"run with the kept session restored vs a cold login (second factor), nothing new ({bills} bills "
            "known); restored: 0 login and 0 second-factor requests, checked on the site's counters",
            "s",
            samples.wall["restored"],
            value_label="restored",
            baseline=samples.wall["cold"],
            baseline_label="cold login",
            target_op="<=",
            target=0.5,
            target_text="≤ 0.5",
        ),
        Row(
            "10",
            "… cold start to logged in: spawn → logged in, restored session vs cold login",
            "s",
            logged_in["restored"],
            value_label="restored",
            baseline=logged_in["cold"],
            baseline_label="cold login",
            target_text="state it",
        ),
    ]


if __name__ == "__main__":  # a quick look: python -m benchlib.w_session (from scripts/)
    for row in session_restore(int(os.environ.get("BILLS", "24")), 1, print):
        print(row.what, row.value, row.baseline)
