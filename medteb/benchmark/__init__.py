"""The benchmark: task definitions read from ``tasks/``, mteb task classes and their registration,
and the data formats, sources and importers behind them (:mod:`medteb.benchmark.data`)."""
