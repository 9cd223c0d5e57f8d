"""Workload 3: ``save_bills`` through ``CozyStackStore`` against cozy-konnector-libs 5.13.0 ``saveBills``.

Both save the same bills, with PDFs from the same vendor process (:mod:`benchlib.pdf_server`), into a
fresh stack emulator each (:mod:`benchlib.stack_server`, its own process). Each side times its own save
call and counts the emulator's requests around it. The JS side runs only with ``--with-js``: it needs
``npm install`` of cozy-konnector-libs (about a minute, 170 MB) into ``.bench-cache/js`` (git-ignored by
its own ``.gitignore``), never in CI. It runs in dev mode (``NODE_ENV=development``), the only mode that
saves files since 5.4.0).

The JS side runs at the Python side's ``concurrency`` (4), the fair comparison the target is checked on,
in the first ``js_runs`` rounds (``--js-runs``, default 1: it takes minutes), and, with ``--js-c1``, at its
own default (1) too (20+ minutes for 1,000 bills on a loaded machine). Its ``timeout`` option is raised
(``index.js``): by default saveFiles gives up 4 minutes after the module loaded and resolves with half the
job done, which would time the wrong thing.

The vendor answers each PDF after ``VENDOR_LATENCY_MS`` (30 ms; ``--vendor-latency-ms``), for both sides.
A real vendor is tens to hundreds of milliseconds away; one on loopback answering in 1–3 ms exposes a
race in konnector-libs that makes the comparison meaningless: with ``fileIdAttributes`` its ``createFile``
starts the vendor download (a ``request`` stream, reading as soon as the answer arrives), awaits
``POST /files/upload/metadata``, and only then pipes the stream into the upload. When the vendor's answer
was read first, ``request`` refuses the pipe ("You cannot pipe after data has been emitted from the
response"), the upload request never sends a byte, and it waits until the server closes the idle
connection ("socket hang up"; the bill is dropped). The real stack never closes an idle connection, so
there the job would hang until its time limit; the bench's emulator closes it after
``STACK_IDLE_TIMEOUT`` (10 s). Against the emulator at 0 ms that was 7–12 bills of 40; at 30 ms, none of
40 but 68 of 1,000 on a loaded machine (the race also depends on CPU scheduling). Lost uploads are
counted (``hung_uploads``) and each costs the JS side the idle timeout.
"""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchlib.common import PYTHON, REPO, SCRIPTS, BenchError, child_env, worker
from benchlib.procs import Service, run_timed
from benchlib.report import Row

JS_SOURCE = SCRIPTS / "benchlib" / "js"
JS_CACHE = REPO / ".bench-cache" / "js"
LIBS_VERSION = "5.13.0"
PY_CONCURRENCY = 4  # save_files' default
VENDOR_LATENCY_MS = 30
#: Longer than Node's pool (5 s), as the stack (which never closes an idle connection); short enough that an
#: upload konnector-libs never sends costs 10 s, not the job's time limit.
STACK_IDLE_TIMEOUT = 10


def _installed_version() -> str | None:
    package = JS_CACHE / "node_modules" / "cozy-konnector-libs" / "package.json"
    if not package.is_file():
        return None
    version: str = json.loads(package.read_text())["version"]
    return version


def ensure_js(log: Callable[[str], None]) -> Path:
    """cozy-konnector-libs installed in the cache folder (npm, once), and our konnector copied next to it."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        raise BenchError("--with-js needs node and npm (apt-get install nodejs npm)")
    JS_CACHE.mkdir(parents=True, exist_ok=True)
    ignore = JS_CACHE.parent / ".gitignore"
    if not ignore.exists():
        ignore.write_text("*\n")
    wanted = (JS_SOURCE / "package.json").read_text()
    current = JS_CACHE / "package.json"
    if _installed_version() != LIBS_VERSION or not current.exists() or current.read_text() != wanted:
        current.write_text(wanted)
        log(f"  npm install cozy-konnector-libs@{LIBS_VERSION} into {JS_CACHE} (about a minute)")
        done = subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--legacy-peer-deps"],
            cwd=JS_CACHE,
            capture_output=True,
            text=True,
            timeout=900,
        )
        if done.returncode != 0 or _installed_version() != LIBS_VERSION:
            raise BenchError("npm install failed:\n" + (done.stderr or done.stdout)[-2000:])
    for name in ("index.js", "manifest.konnector"):
        shutil.copyfile(JS_SOURCE / name, JS_CACHE / name)
    return JS_CACHE


def _stack(root: Path, slug: str, token: str) -> Service:
    return Service(
        [
            PYTHON,
            "-m",
            "benchlib.stack_server",
            "--root",
            str(root),
            "--slug",
            slug,
            "--token",
            token,
            "--idle-timeout",
            str(STACK_IDLE_TIMEOUT),
        ],
        env=child_env(),
        cwd=SCRIPTS,
        ready_marker="ready",
    )


def _folder_id(stack: Service) -> str:
    for line in stack.lines:
        if line.startswith("folder "):
            return line.split()[1]
    raise BenchError("the stack emulator printed no folder id")


def _python_side(root: Path, pdf_url: str, bills: int) -> dict[str, Any]:
    token = secrets.token_hex(16)
    with _stack(root, "bench-py", token) as stack:
        result = worker(
            "w_save_py",
            "--stack",
            stack.urls[0],
            "--control",
            stack.urls[1],
            "--token",
            token,
            "--pdf",
            pdf_url,
            "--bills",
            str(bills),
        )
    if result.get("bills_created") != bills:
        raise BenchError(f"save_bills created {result.get('bills_created')} bills, expected {bills}")
    return result


def _js_side(root: Path, pdf_url: str, bills: int, concurrency: int | None) -> dict[str, Any]:
    token = secrets.token_hex(16)
    with _stack(root, "bench-js", token) as stack:
        fields = json.dumps({"account": "bench-account", "folder_to_save": _folder_id(stack)})
        env = child_env(
            NODE_ENV="development",
            LOG_LEVEL="warn",
            COZY_URL=stack.urls[0],
            COZY_CREDENTIALS=token,
            COZY_FIELDS=fields,
            BENCH_BILLS=str(bills),
            BENCH_PDF_URL=pdf_url,
            BENCH_CONTROL_URL=stack.urls[1],
        )
        if concurrency is not None:
            env["BENCH_CONCURRENCY"] = str(concurrency)
        outcome = run_timed(["node", "index.js"], env=env, cwd=JS_CACHE, timeout=3600, sample=False)
        line = next((ln for ln in outcome.stdout.splitlines() if ln.startswith("BENCH ")), None)
        if not outcome.ok or line is None:
            raise BenchError("the JS konnector failed: " + outcome.describe_failure())
        result: dict[str, Any] = json.loads(line[len("BENCH ") :])
        result["hung_uploads"] = outcome.stdout.count("socket hang up") + outcome.stderr.count("socket hang up")
        import httpx

        control = httpx.get(f"{stack.urls[1]}/requests", timeout=30).json()
        result["bills_created"] = control["by_route"].get("POST /data/io.cozy.bills/", 0)
        result["metadata_ms"] = control["service_ms"].get("POST /files/upload/metadata")
    return result


def save_vs_js(
    bills: int,
    runs: int,
    with_js: bool,
    log: Callable[[str], None],
    js_c1: bool = False,
    js_runs: int = 1,
    vendor_latency_ms: float = VENDOR_LATENCY_MS,
) -> list[Row]:
    log(
        f"workload 3: save_bills of {bills} bills into the stack emulator, {runs} rounds, "
        f"vendor latency {vendor_latency_ms:g} ms"
        + ("" if with_js else " (Python side only: --with-js runs cozy-konnector-libs)")
    )
    if with_js:
        ensure_js(log)
    results: dict[str, list[dict[str, Any]]] = {"python": [], "js_same": [], "js_default": []}
    with (
        tempfile.TemporaryDirectory(prefix="bk-bench-save-") as tmp,
        Service(
            [PYTHON, "-m", "benchlib.pdf_server"],
            env=child_env(BENCH_PDF_LATENCY_MS=str(vendor_latency_ms)),
            cwd=SCRIPTS,
        ) as pdf,
    ):
        variants: dict[str, Callable[[Path], dict[str, Any]]] = {
            "python": lambda root: _python_side(root, pdf.url, bills)
        }
        if with_js:
            variants["js_same"] = lambda root: _js_side(root, pdf.url, bills, PY_CONCURRENCY)
            if js_c1:
                variants["js_default"] = lambda root: _js_side(root, pdf.url, bills, None)
        names = list(variants)
        for number in range(runs):
            shift = number % len(names)
            for name in names[shift:] + names[:shift]:
                if name.startswith("js") and number >= js_runs:
                    continue  # the JS side takes minutes per round: fewer samples (its ratio is far off 1)
                root = Path(tmp) / f"{name}-{number}"
                result = variants[name](root)
                shutil.rmtree(root, ignore_errors=True)
                results[name].append(result)
                log(
                    f"  round {number + 1}/{runs} {name:<11} save {result['save_s']:7.2f} s, "
                    f"{result['requests']} requests, {result.get('bills_created')} bills"
                    + (f", {result['hung_uploads']} uploads hung" if "hung_uploads" in result else "")
                    + (
                        " (upload/metadata served in p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {max:.1f} ms)".format(
                            **result["metadata_ms"]
                        )
                        if result.get("metadata_ms")
                        else ""
                    )
                )
    py = results["python"]
    py_s = [r["save_s"] for r in py]
    py_req = [r["requests"] / bills for r in py]
    missing = "" if with_js else "JS side not run: needs --with-js (npm; never in CI)"
    missing_c1 = missing or ("" if js_c1 else "not run: needs --js-c1 (20+ min for 1,000 bills)")
    same, default = results["js_same"], results["js_default"]

    def js_note(rows: list[dict[str, Any]]) -> str:
        if not rows:
            return ""
        saved = sorted(r.get("bills_created", 0) for r in rows)
        hung = sorted(r.get("hung_uploads", 0) for r in rows)
        return (
            f"JS saved {saved[len(saved) // 2]}/{bills} bills (median of {len(rows)}), "
            f"{hung[len(hung) // 2]} uploads hung per run"
        )

    return [
        Row(
            "3",
            f"save_bills of {bills} bills with PDFs via CozyStackStore vs konnector-libs saveBills "
            f"(both at concurrency {PY_CONCURRENCY}; vendor latency {vendor_latency_ms:g} ms)",
            "s",
            py_s,
            baseline=[r["save_s"] for r in same],
            baseline_label="konnector-libs",
            invert=True,
            target_op=">=",
            target=3.0,
            target_text="≥ 3",
            note=js_note(same),
            missing=missing,
        ),
        Row(
            "3",
            "… stack requests per bill (lower is better)",
            "req/bill",
            py_req,
            baseline=[r["requests"] / bills for r in same],
            baseline_label="konnector-libs",
            target_op="<=",
            target=0.999,
            target_text="< 1 (fewer)",
            missing=missing,
        ),
        Row(
            "3",
            "… vs konnector-libs at its default concurrency (1)",
            "s",
            py_s,
            baseline=[r["save_s"] for r in default],
            baseline_label="konnector-libs c=1",
            invert=True,
            target_text="info",
            note=(js_note(default) + "; one round only") if default else "",
            missing=missing_c1,
        ),
    ]
