"""The connector toolkit: what a connector's code calls to get data and files out of a vendor's site.

JSON answers captured from the page (``_capture``), files however they arrive (``_files``), HTTP sharing
the browser's cookies (``_http``), print-to-PDF (``_pdf``), act-and-wait (``_waits``), form login
(``_forms``), server-rendered pages as selectors (``_html``), virtualised lists and IndexedDB (``_lists``).

It sits on the browser core (``browserkonnector.browser``'s session, network owner, blocking and secret
registry) and never on the run's instrumentation (``..instrument``). Every module here is private: the
public names are exported by :mod:`browserkonnector.browser` (and the most used ones by
:mod:`browserkonnector`), which is the contract.
"""

__all__: list[str] = []
