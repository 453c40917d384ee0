"""The rank-correlation report: the paper's Table 2, recomputed from ``results/`` (pure).

Does a model's rank on the public CMedQA tasks predict its rank on MedTEB's new tasks? For one
setting, every model with all five tasks gives two numbers, its CMedQA average (v1, v2) and its
new-task average (Retrieval, Rerank, STS); the report gives Spearman's rho with its p-value
(``scipy.stats.spearmanr``), Kendall's tau, a bootstrap confidence interval for rho and the
pairwise Spearman matrix of the five tasks.

Models are grouped by their declared setting (``submission.yaml``). Results that declare none
(a folder written by ``medteb run`` or mteb, not added with ``medteb submit``) form their own
group, :data:`UNDECLARED`, since zero-shot and fine-tuned models may be mixed there; such results
computed on the bundled sample join the ``sample`` group, as ``medteb submit`` would file them.

Bootstrap: percentile interval over :data:`BOOTSTRAP_RESAMPLES` resamples of the models (with
replacement, numpy ``default_rng(BOOTSTRAP_SEED)``); a resample in which either average is
constant has no rho and is dropped (the report says how many were used).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from medteb.benchmark.definitions import BENCHMARK_ORDER, CMEDQA_TASKS, NEW_TASKS, mean
from medteb.errors import MedtebError
from medteb.results.layout import Entry, RunEntry
from medteb.results.leaderboard import TASK_COLUMNS

BOOTSTRAP_RESAMPLES = 10_000
BOOTSTRAP_SEED = 0
CONFIDENCE = 0.95
UNDECLARED = "undeclared"

#: how each group is named in the report's title
GROUP_TITLES = {
    "zero-shot": "zero-shot",
    "fine-tuned": "fine-tuned",
    "sample": "sample: a smoke test on the bundled sample, not the benchmark",
    UNDECLARED: "undeclared: results that declare no setting (not added with `medteb submit`); "
                "zero-shot and fine-tuned models may be mixed",
}


def group_of(entry: Entry | RunEntry) -> str:
    """The group an entry is reported in: its setting, or :data:`UNDECLARED` (or ``sample``)."""
    if isinstance(entry, Entry):
        return entry.setting
    return "sample" if entry.sample else UNDECLARED


def default_group(entries: Iterable[Entry | RunEntry]) -> str:
    """``zero-shot`` (the paper's Table 2) when any entry has it, else :data:`UNDECLARED` when
    any entry is undeclared, else ``zero-shot``."""
    groups = {group_of(e) for e in entries}
    return "zero-shot" if "zero-shot" in groups or UNDECLARED not in groups else UNDECLARED


@dataclass(frozen=True)
class ModelPoint:
    """One model's averages on the 0–100 scale."""

    name: str
    cmedqa_avg: float
    new_avg: float


@dataclass(frozen=True)
class CorrelationReport:
    """Table 2 and its robustness checks for one setting."""

    setting: str
    models: tuple[ModelPoint, ...]
    skipped: tuple[tuple[str, str], ...]
    spearman_rho: float
    spearman_p: float
    kendall_tau: float
    kendall_p: float
    ci_low: float
    ci_high: float
    resamples_used: int
    task_matrix: tuple[tuple[float, ...], ...]
    resamples: int = BOOTSTRAP_RESAMPLES
    seed: int = BOOTSTRAP_SEED

    @property
    def cmedqa_mean(self) -> float:
        """The mean CMedQA average over the models (Table 2 "Avg Score", CMedQA)."""
        return sum(m.cmedqa_avg for m in self.models) / len(self.models)

    @property
    def new_mean(self) -> float:
        """The mean new-task average over the models (Table 2 "Avg Score", New Tasks)."""
        return sum(m.new_avg for m in self.models) / len(self.models)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON (unrounded)."""
        return {
            "setting": self.setting,
            "n_models": len(self.models),
            "models": [{"model": m.name, "cmedqa_avg": m.cmedqa_avg, "new_task_avg": m.new_avg}
                       for m in self.models],
            "skipped": [{"model": n, "reason": r} for n, r in self.skipped],
            "cmedqa_avg": self.cmedqa_mean,
            "new_task_avg": self.new_mean,
            "spearman": {"rho": self.spearman_rho, "p_value": self.spearman_p,
                         "bootstrap_ci": [self.ci_low, self.ci_high],
                         "confidence": CONFIDENCE, "resamples": self.resamples,
                         "resamples_used": self.resamples_used, "seed": self.seed},
            "kendall": {"tau": self.kendall_tau, "p_value": self.kendall_p},
            "task_spearman": {"tasks": list(BENCHMARK_ORDER),
                              "matrix": [list(r) for r in self.task_matrix]},
        }

    def to_json(self) -> str:
        """:meth:`to_dict` as indented JSON."""
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"

    def to_markdown(self) -> str:
        """Table 2 first, then the robustness checks, the matrix and the models used."""
        lines = [
            f"# Rank correlation: CMedQA vs MedTEB's new tasks "
            f"({GROUP_TITLES.get(self.setting, self.setting)})", "",
            f"{len(self.models)} models with all five tasks.", "",
            "| Benchmark | Avg Score | Spearman (p-value) |", "|---|---:|---|",
            f"| CMedQA | {self.cmedqa_mean:.2f} | {self.spearman_rho:.3f} "
            f"({self.spearman_p:.3f}) |",
            f"| New Tasks | {self.new_mean:.2f} | |", "",
            f"- Spearman's rho = {self.spearman_rho:.3f}, p = {self.spearman_p:.3f}",
            f"- Kendall's tau = {self.kendall_tau:.3f}, p = {self.kendall_p:.3f}",
            f"- {CONFIDENCE:.0%} bootstrap CI for rho: [{self.ci_low:.3f}, {self.ci_high:.3f}] "
            f"(percentile; {self.resamples} resamples of the models, seed {self.seed}, "
            f"{self.resamples_used} with a defined rho)", "",
            "Spearman's rho between tasks (over the same models):", "",
            "| | " + " | ".join(TASK_COLUMNS.values()) + " |",
            "|---|" + "---:|" * len(TASK_COLUMNS),
        ]
        for label, row in zip(TASK_COLUMNS.values(), self.task_matrix, strict=True):
            lines.append(f"| {label} | " + " | ".join(f"{v:.3f}" for v in row) + " |")
        lines += ["", "| Model | CMedQA avg | New-task avg |", "|---|---:|---:|"]
        lines += [f"| {m.name} | {m.cmedqa_avg:.2f} | {m.new_avg:.2f} |" for m in self.models]
        if self.skipped:
            lines += ["", "Skipped:"]
            lines += [f"- {name}: {reason}" for name, reason in self.skipped]
        return "\n".join(lines) + "\n"


def correlation_report(entries: Iterable[Entry | RunEntry],
                       setting: str = "zero-shot") -> CorrelationReport:
    """Compute the report over the entries of one group.

    Args:
        entries: loaded ``results/`` entries (:func:`medteb.results.layout.load_entries`) and
            undeclared ones (:func:`medteb.results.layout.load_run_entries`).
        setting: ``zero-shot`` (the paper's Table 2), ``fine-tuned``, ``sample`` or
            :data:`UNDECLARED`.

    Raises:
        MedtebError: fewer than three models of the group have all five tasks.
    """
    import numpy as np
    from scipy import stats

    entries = list(entries)
    models: list[ModelPoint] = []
    task_scores: list[list[float]] = []
    skipped: list[tuple[str, str]] = []
    chosen = sorted((e for e in entries if group_of(e) == setting), key=_sort_key)
    names = [_name(e) for e in chosen]
    for entry, name in zip(chosen, names, strict=True):
        if names.count(name) > 1:
            name = f"{name} ({entry.revision})"
        missing = [t for t in BENCHMARK_ORDER if t not in entry.scores]
        if missing:
            skipped.append((name, f"no result for {', '.join(missing)}"))
            continue
        cmedqa = mean([entry.scores[t] for t in CMEDQA_TASKS])
        new = mean([entry.scores[t] for t in NEW_TASKS])
        models.append(ModelPoint(name, 100 * cmedqa, 100 * new))  # type: ignore[operator]
        task_scores.append([entry.scores[t] for t in BENCHMARK_ORDER])
    if len(models) < 3:
        others = sorted({group_of(e) for e in entries} - {setting})
        hint = (f"; other groups here: {', '.join(others)} (--setting)" if others else "")
        raise MedtebError(
            f"the {setting!r} setting has {len(models)} model(s) with all five tasks; a rank "
            f"correlation needs at least 3{hint} (see `medteb leaderboard` for what results/ "
            "holds)"
        )
    x = np.array([m.cmedqa_avg for m in models])
    y = np.array([m.new_avg for m in models])
    rho, p = stats.spearmanr(x, y)
    tau, tau_p = stats.kendalltau(x, y)
    low, high, used = _bootstrap_ci(x, y)
    matrix = stats.spearmanr(np.array(task_scores)).statistic
    return CorrelationReport(
        setting=setting, models=tuple(models), skipped=tuple(skipped),
        spearman_rho=float(rho), spearman_p=float(p), kendall_tau=float(tau),
        kendall_p=float(tau_p), ci_low=low, ci_high=high, resamples_used=used,
        task_matrix=tuple(tuple(float(v) for v in row) for row in matrix),
    )


def _name(entry: Entry | RunEntry) -> str:
    return entry.submission.display_name if isinstance(entry, Entry) else entry.model_name


def _sort_key(entry: Entry | RunEntry) -> tuple[str, str, str]:
    return (_name(entry), entry.model_name, entry.revision)


def _bootstrap_ci(x: Any, y: Any) -> tuple[float, float, int]:
    """Percentile CI of Spearman's rho over resampled models (vectorised: ranks, then Pearson)."""
    import numpy as np
    from scipy.stats import rankdata

    rng = np.random.default_rng(BOOTSTRAP_SEED)
    index = rng.integers(0, len(x), size=(BOOTSTRAP_RESAMPLES, len(x)))
    rx = rankdata(x[index], axis=1)
    ry = rankdata(y[index], axis=1)
    rx -= rx.mean(axis=1, keepdims=True)
    ry -= ry.mean(axis=1, keepdims=True)
    denominator = np.sqrt((rx**2).sum(axis=1) * (ry**2).sum(axis=1))
    ok = denominator > 0
    rho = (rx * ry).sum(axis=1)[ok] / denominator[ok]
    alpha = (1 - CONFIDENCE) / 2
    low, high = np.quantile(rho, [alpha, 1 - alpha])
    return float(low), float(high), int(ok.sum())
