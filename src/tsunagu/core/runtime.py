"""Process-wide settings for the command line.

Imports allocate millions of small, long-lived objects (rows, events, states). With CPython's
default thresholds the cyclic garbage collector runs full passes over them again and again — about
an eighth of an import's time, measured with ``benchmarks/import_orders.py``. A CLI process is short
and does one job, so it freezes what start-up created and collects young objects less often.
"""

from __future__ import annotations

import gc

#: Allocations between young-generation collections (CPython's default is 700 or 2000).
YOUNG_THRESHOLD = 50_000


def tune_gc_for_batch_work() -> None:
    gc.freeze()  # modules, classes and settings loaded so far are never scanned again
    gc.set_threshold(YOUNG_THRESHOLD, 20, 20)
