"""Run a command as its own process tree, time it, and sample the tree's PSS every ~50 ms.

PSS, not RSS: Chromium's processes share most of their pages, and RSS counts a shared page once per
process (a run of ours measured 1415 MiB RSS for 341 MiB PSS). The tree is the process and every descendant
(driver, browser, renderers, GPU/utility processes), found by walking ``/proc/*/stat`` parent links,
because this kernel has no ``/proc/PID/task/TID/children``. Each sample sums ``Pss:`` of
``/proc/PID/smaps_rollup``; a process that exits between listing and reading is skipped.

Every variant of a workload is sampled the same way, so the sampler's own CPU cost (a few ms per
sample) hits baselines and framework alike.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

SAMPLE_EVERY_S = 0.05
MIB = 1024 * 1024


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may hold spaces and parentheses, so split after the last ')'
        ppid = int(stat[stat.rindex(b")") + 2 :].split(b" ", 2)[1])
        children.setdefault(ppid, []).append(int(entry.name))
    return children


def tree(pid: int) -> list[int]:
    """``pid`` and all its descendants alive right now."""
    children = _children_map()
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, ()))
    return found


def pss_bytes(pid: int) -> int:
    """PSS of one process, 0 if it is gone."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as handle:
            for line in handle:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        return 0
    return 0


def tree_pss(pid: int, seen: set[int] | None = None) -> tuple[int, int]:
    """(PSS of the whole tree in bytes, number of processes); adds the tree's pids to ``seen``."""
    pids = tree(pid)
    if seen is not None:
        seen.update(pids)
    return sum(pss_bytes(p) for p in pids), len(pids)


def _kind(pid: int) -> str:
    """A short name for a process of the tree: python, node (the Playwright driver), chromium:<type>."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().rstrip(b"\0").split(b"\0")
    except OSError:
        return "gone"
    if len(argv) == 1:  # Chromium's children rewrite their title: one string, arguments space-separated
        argv = argv[0].split(b" ")
    name = Path(argv[0].decode(errors="replace")).name
    if "chrom" in name:
        kind = next((a.decode().split("=", 1)[1] for a in argv if a.startswith(b"--type=")), "browser")
        return f"chromium:{kind}"
    return name


def tree_breakdown(pid: int) -> dict[str, float]:
    """PSS in MiB per kind of process of the tree (summed over processes of the same kind)."""
    out: dict[str, float] = {}
    for child in tree(pid):
        kind = _kind(child)
        out[kind] = out.get(kind, 0.0) + pss_bytes(child) / MIB
    return out


class PssSampler:
    """Samples the PSS of ``pid``'s tree in a thread until stopped; keeps the peak."""

    def __init__(self, pid: int, every: float = SAMPLE_EVERY_S) -> None:
        self.pid, self.every = pid, every
        self.peak_bytes = 0
        self.peak_procs = 0
        self.peak_breakdown: dict[str, float] = {}
        self.samples = 0
        #: every pid of the tree seen by a sample (for :func:`_reap_orphans`)
        self.seen: set[int] = set()
        self._last_breakdown = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"pss-{pid}", daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            total, procs = tree_pss(self.pid, self.seen)
            self.samples += 1
            if total > self.peak_bytes:
                self.peak_bytes, self.peak_procs = total, procs
                if total > self._last_breakdown * 1.05:  # a breakdown costs more: only near the peak
                    self.peak_breakdown = tree_breakdown(self.pid)
                    self._last_breakdown = total
            self._stop.wait(self.every)

    def __enter__(self) -> PssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()


@dataclass
class Outcome:
    """One timed process: wall time, peak PSS of its tree, its exit status and output."""

    command: list[str]
    wall_s: float
    returncode: int
    stdout: str
    stderr: str
    peak_pss_mib: float = 0.0
    peak_procs: int = 0
    #: user+sys CPU seconds of the process and the descendants it (or they) waited for; see :func:`run_timed`
    cpu_s: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def last_json(self) -> dict[str, Any]:
        """The last stdout line that is a JSON object (the timings line of a baseline or worker)."""
        for line in reversed(self.stdout.splitlines()):
            line = line.strip()
            if line.startswith("{"):
                try:
                    value = json.loads(line)
                except ValueError:
                    continue
                if isinstance(value, dict):
                    return value
        return {}

    def describe_failure(self) -> str:
        tail = (self.stderr or self.stdout).strip().splitlines()[-15:]
        return f"exit {self.returncode}: {' '.join(self.command[:4])} ...\n" + "\n".join(tail)


PR_SET_CHILD_SUBREAPER = 36


def _become_subreaper() -> bool:
    """Make the harness the reaper of its descendants' orphans (Linux ``prctl``), once.

    Chromium's helper processes may outlive the browser process that started them; an orphan is adopted by
    init and its CPU time is lost to whoever measures through ``RUSAGE_CHILDREN`` (one run of ``raw_fast``
    at 8 bills: 0.82 s counted against 0.96 s read from ``/proc``). Adopted by the harness instead, and
    reaped by :func:`_reap_orphans`, their time counts.
    """
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


_SUBREAPER = _become_subreaper()


def _reap_orphans(pids: set[int], root: int, bound_s: float = 5.0) -> None:
    """Wait (at most ``bound_s`` in all) for the pids of a finished tree that the harness adopted."""
    deadline = time.monotonic() + bound_s
    for pid in pids - {root}:
        while True:
            try:
                done, _status = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:  # not ours: reaped by its own parent, already counted there
                break
            if done or time.monotonic() > deadline:
                break
            time.sleep(0.01)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_timed(
    command: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 1800,
    sample: bool = True,
) -> Outcome:
    """Run ``command`` to its end; wall time from spawn to exit, PSS sampled while it runs.

    CPU time (user+sys) is the growth of this process's ``RUSAGE_CHILDREN`` over the run: the command and
    every descendant, reaped by its parent or, once orphaned, by the harness (:func:`_become_subreaper`).
    It is only the command's own when no other child of the harness ends meanwhile, which holds here:
    variants run one at a time and the servers outlive them. A process that lives and dies between two
    samples and is orphaned is missed (none seen so far).
    """
    cpu_before = _children_cpu()
    started = time.perf_counter()
    process = subprocess.Popen(
        list(command),
        env=dict(env) if env is not None else None,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    sampler = PssSampler(process.pid) if sample else None
    try:
        if sampler is not None:
            with sampler:
                stdout, stderr = process.communicate(timeout=timeout)
        else:
            stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        stderr += f"\n[bench] killed after {timeout:.0f} s"
    wall = time.perf_counter() - started
    if sampler is not None and _SUBREAPER:
        _reap_orphans(sampler.seen, process.pid)
    outcome = Outcome(list(command), wall, process.returncode, stdout, stderr, cpu_s=_children_cpu() - cpu_before)
    if sampler is not None:
        outcome.peak_pss_mib = sampler.peak_bytes / MIB
        outcome.peak_procs = sampler.peak_procs
        outcome.extra["pss_by_process"] = {k: round(v, 1) for k, v in sampler.peak_breakdown.items()}
    return outcome


class Service:
    """A server in its own process (so it never shares the GIL with what is measured).

    It must print a line containing ``http://127.0.0.1:PORT`` first; :attr:`urls` holds every URL
    found on the lines read up to ``ready_marker`` (or the first URL line when no marker is given).
    """

    def __init__(
        self,
        command: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        ready_marker: str | None = None,
        timeout: float = 60,
    ) -> None:
        self.command, self.env, self.cwd = list(command), env, cwd
        self.ready_marker, self.timeout = ready_marker, timeout
        self.urls: list[str] = []
        self.lines: list[str] = []
        self.process: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        return self.urls[0]

    def start(self) -> Service:
        self.process = subprocess.Popen(
            self.command,
            env=dict(self.env) if self.env is not None else None,
            cwd=self.cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        process, stdout = self.process, self.process.stdout
        assert stdout is not None
        # a server that never prints must not hang the bench: kill it after the timeout (EOF ends the loop)
        watchdog = threading.Timer(self.timeout, lambda: os.killpg(process.pid, signal.SIGKILL))
        watchdog.start()
        try:
            for line in stdout:
                self.lines.append(line.rstrip())
                for word in line.split():
                    if word.startswith("http://127.0.0.1:"):
                        self.urls.append(word.rstrip(".,"))
                if self.ready_marker in line if self.ready_marker else bool(self.urls):
                    break
        finally:
            watchdog.cancel()
        if not self.urls:
            self.stop()
            raise RuntimeError(f"{' '.join(self.command[:4])} printed no URL:\n" + "\n".join(self.lines[-20:]))
        # keep draining its output, or a chatty server blocks on a full pipe
        threading.Thread(target=self._drain, daemon=True).start()
        return self

    def _drain(self) -> None:
        assert self.process is not None
        assert self.process.stdout is not None
        for _line in self.process.stdout:
            pass

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.process = None

    def __enter__(self) -> Service:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
