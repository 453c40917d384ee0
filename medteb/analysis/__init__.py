"""Statistics over per-query scores: per-query files, bootstrap confidence intervals, paired
comparisons of runs (``medteb compare``) and rank intervals. See docs/analysis.md."""
