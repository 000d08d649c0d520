"""Benchmarks for issue 6: how late and how often the job waiter polls, and how the provider host scales.

``python -m benchmarks`` (``make bench``) runs, in one go:

* virtual-time runs (:mod:`benchmarks.virtual`): IMS jobs in the emulator's manual clock, polled through
  the real HTTP client by our predictive schedule, Terraform's and a fixed 5 s one;
* stack runs (:mod:`benchmarks.stack`): 16 images created, read and deleted through the real
  ``pulumi.dynamic`` provider host;

and writes the tables (:mod:`benchmarks.report`) to ``benchmarks/results/`` and ``benchmarks/RESULTS.md``.
"""
