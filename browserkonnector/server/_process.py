"""``browserkonnector browser-server`` as a child process: what tests, benchmarks and a supervisor of
workers start and stop.

::

    with HostProcess(max_clients=4) as host:
        run(["browserkonnector", "run", "...", "--connect", host.endpoint])
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from types import TracebackType

__all__ = ["HostProcess"]


class HostProcess:
    """The command in a session of its own (``kill()`` takes its whole group), its endpoint read from its
    first line."""

    def __init__(
        self,
        *,
        max_clients: int = 8,
        queue_timeout: float = 60.0,
        extra: Sequence[str] = (),
        start_timeout: float = 90.0,
        env: dict[str, str] | None = None,
    ) -> None:
        self.command = [
            sys.executable,
            "-m",
            "browserkonnector.cli",
            "browser-server",
            "--max-clients",
            str(max_clients),
            "--queue-timeout",
            str(queue_timeout),
            *extra,
        ]
        self.start_timeout, self.env = start_timeout, env
        self.process: subprocess.Popen[str] | None = None
        self.endpoint = ""
        self.output: list[str] = []

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self) -> HostProcess:
        self.process = process = subprocess.Popen(
            self.command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
            env=self.env,
        )
        timer = threading.Timer(self.start_timeout, lambda: os.killpg(process.pid, signal.SIGKILL))
        timer.start()
        try:
            assert process.stdout is not None
            for line in process.stdout:
                self.output.append(line.rstrip())
                if line.startswith("Listening on ws://"):
                    self.endpoint = line.split()[-1]
                    break
        finally:
            timer.cancel()
        if not self.endpoint:
            self.stop()
            raise RuntimeError("browser-server did not start:\n" + "\n".join(self.output[-20:]))
        threading.Thread(target=self._drain, daemon=True).start()
        return self

    def _drain(self) -> None:
        assert self.process is not None
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line.rstrip())

    def kill(self) -> None:
        """SIGKILL to the host alone (its driver follows, then Chromium): a host that dies."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def stop(self) -> None:
        """SIGTERM, then SIGKILL to the group after 20 s."""
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    def __enter__(self) -> HostProcess:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
