"""What the numbers were measured on: cores, load, memory, Chromium (the binary used), Playwright, Python."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path


def _chromium() -> tuple[str, str]:
    from browserkonnector.browser import find_chromium

    try:
        path = find_chromium(headless=True)
    except Exception as exc:  # reported, not fatal: the browser workloads will fail with the reason
        return "not found", str(exc)
    try:
        out = subprocess.run([str(path), "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError) as exc:
        out = f"unknown ({exc})"
    return out or "unknown", str(path)


def _mem_total_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / 1024 / 1024
    return 0.0


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def describe() -> dict[str, str]:
    chromium, path = _chromium()
    load1, load5, load15 = os.getloadavg()
    return {
        "cores": str(os.cpu_count()),
        "cpu": _cpu_model(),
        "memory": f"{_mem_total_gib():.1f} GiB",
        "load average at start": f"{load1:.2f} / {load5:.2f} / {load15:.2f} (1 / 5 / 15 min)",
        "chromium": f"{chromium} — {path}",
        "playwright": version("playwright"),
        "python": sys.version.split()[0],
        "os": f"{platform.system()} {platform.release()}",
    }


def load_now() -> str:
    return f"{os.getloadavg()[0]:.2f}"
