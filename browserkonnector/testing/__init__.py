"""Testing connectors: a runner, the Cozy stack emulator, background servers for fixture sites.

- :func:`run_connector` / :class:`ConnectorRun` — run a connector as the CLI would and read what it saved;
- :class:`StackEmulator` — the Cozy stack's documented HTTP protocol on loopback (an emulation: the real
  stack cannot run here; tests using it say so in their names);
- :class:`BackgroundServer`, :class:`SiteServer`, :func:`serve_until_stopped` — a web app on
  127.0.0.1:0 in a thread, and the plumbing the fixture sites share;
- :class:`BigPdf` / :func:`big_pdf_app` — a server of arbitrarily large PDFs, generated on the fly.

The pytest plugin (fixtures ``run_connector``, ``demo_site``, ``shop_site``) is registered by the
package's entry point. This ``__init__`` is the package's contract; the modules behind it are private.
Names are imported on first use (PEP 562): the emulator and the servers need the ``sites`` extra.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from browserkonnector._lazy import lazy_exports

if TYPE_CHECKING:
    from browserkonnector.testing._bigpdf import BigPdf, big_pdf_app
    from browserkonnector.testing._emulator import StackEmulator
    from browserkonnector.testing._runner import ConnectorRun, run_connector
    from browserkonnector.testing._server import BackgroundServer, SiteServer, serve_until_stopped

_EXPORTS: dict[str, str] = {  # name -> the private module defining it
    "ConnectorRun": "._runner",
    "run_connector": "._runner",
    "StackEmulator": "._emulator",
    "BackgroundServer": "._server",
    "SiteServer": "._server",
    "serve_until_stopped": "._server",
    "BigPdf": "._bigpdf",
    "big_pdf_app": "._bigpdf",
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())

__all__ = [
    "BackgroundServer",
    "BigPdf",
    "ConnectorRun",
    "SiteServer",
    "StackEmulator",
    "big_pdf_app",
    "run_connector",
    "serve_until_stopped",
]
