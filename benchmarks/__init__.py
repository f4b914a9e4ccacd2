"""The benchmark of chamelaion-tui: what the dashboard costs and how fresh it is.

Run it with ``python -m benchmarks.run`` (``--quick`` for a short smoke run).
It has four sections, each a module here:

* :mod:`benchmarks.refresh_cost` (A): the dashboard's refresh code against the
  API page's per-request polling pattern, on the same job mixes: requests,
  staleness of what the client holds, and client CPU.
* :mod:`benchmarks.idle` (B): CPU and requests of the real app with nothing in
  flight.
* :mod:`benchmarks.startup` (C): time to the first data row, against a bare
  Textual app with the same widgets, each in a fresh process.
* :mod:`benchmarks.soak` (D): memory, asyncio tasks and Textual timers of the
  real app after many refresh cycles.

Everything runs against the project's simulator on loopback; nothing here
talks to any other host. This package is not part of the product: nothing in
``chamelaion_tui`` imports it.
"""
