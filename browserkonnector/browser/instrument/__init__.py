"""The run's instrumentation: what watches a run rather than doing its work.

Tracing (``_tracing``), scrubbing secrets out of traces, HAR files and bundles (``_scrub``), the page log
(``_observe``), record and replay of a run's network with tolerant matching (``_record``, ``_replay``,
``_recording``, ``_recording_diff``, ``_matching``, ``_taps``) and the trace viewer (``_viewer``).

It sits on the browser core (``browserkonnector.browser``'s session, network owner and secret registry)
and never on the connector toolkit (``..toolkit``): a connector's helpers work the same whether a run is
traced, recorded or replayed. Every module here is private: the public names are exported by
:mod:`browserkonnector.browser`, which is the contract.
"""

__all__: list[str] = []
