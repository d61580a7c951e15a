"""The measurement code behind ``python -m experiments.throughput`` (the CLI stays in :mod:`experiments.throughput`).

* :mod:`~experiments.bench.timing`: :func:`~experiments.bench.timing.measure` (first call, median, CPU busy);
* :mod:`~experiments.bench.measure`: the in-process measurements (spread engine, environment, training, sharded
  burn probability);
* :mod:`~experiments.bench.seed_baseline`: the seed-style NumPy baseline, one fire at a time, and its comparison
  with one JAX batch on the same fires;
* :mod:`~experiments.bench.scaling`: the device-count scaling, one subprocess per device count;
* :mod:`~experiments.bench.report`: the flat measurement list, markdown tables, the cost-growth exponent and plots;
* :mod:`~experiments.bench.compare`: ``--compare``, runs of several machines merged into one table and plot.
"""
