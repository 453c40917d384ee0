"""``medteb compare``: paired statistics of two or more runs on the same data, per task.

Per task and pair of runs (a, b): the scores, delta = a − b, its 95% paired percentile
bootstrap interval (the same resampled queries for both runs), a two-sided paired randomization
p-value (sign flips of per-query differences; for STS, similarities swapped between the runs per
pair and both Pearson correlations recomputed), Holm–Bonferroni across the pair's tasks, and
per-query wins / ties / losses. For STS a pair's share of the correlation is
``z(similarity) * z(gold) / n`` (the shares sum to r), which is what wins and ties compare.
"""

from __future__ import annotations

import html
import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from medteb.analysis.perquery import PerQuery
from medteb.analysis.ranking import RESAMPLES, SEED, ScoreRanking, rankings, task_rng
from medteb.analysis.runs import Run, check_same_data
from medteb.analysis.stats import (
    ScoreSet,
    bootstrap,
    holm,
    pearson_swap_p,
    percentile_ci,
    sign_flip_p,
)
from medteb.errors import AnalysisError

TIE = 1e-9  # per-query values closer than this are a tie


@dataclass(frozen=True)
class Divergent:
    """A query where two runs differ most: its text, the first relevant document's rank under
    each run (None: not retrieved), and the text each run put first."""

    query_id: str
    query: str
    value_a: float
    value_b: float
    rank_a: int | None
    rank_b: int | None
    top_a: str
    top_b: str


@dataclass(frozen=True)
class TaskComparison:
    a: float
    b: float
    delta: float
    ci: tuple[float, float]
    p_value: float
    p_holm: float
    wins: int
    ties: int
    losses: int
    n: int
    divergent: tuple[Divergent, ...] = ()

    def to_dict(self) -> dict:
        return {"a": self.a, "b": self.b, "delta": self.delta, "ci": list(self.ci),
                "p_value": self.p_value, "p_holm": self.p_holm, "wins": self.wins,
                "ties": self.ties, "losses": self.losses, "n": self.n}


@dataclass(frozen=True)
class PairComparison:
    a: str
    b: str
    tasks: dict[str, TaskComparison]

    @property
    def key(self) -> str:
        return f"{self.a} vs {self.b}"


@dataclass(frozen=True)
class CompareReport:
    """Every pair of the compared runs (in the order given: 1 vs 2, 1 vs 3, ..., 2 vs 3), and
    each run's scores with their 95% CIs and rank intervals on the tasks all runs share (and
    the paper's averages where all their tasks are shared); the JSON holds the pairs only."""

    runs: tuple[str, ...]
    pairs: tuple[PairComparison, ...]
    resamples: int
    seed: int
    scores: tuple[ScoreRanking, ...] = ()
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        """Two runs: ``{"tasks": {task: {...}}}``; more: ``{"pairs": {"<a> vs <b>": {"a": ..,
        "b": .., "tasks": {...}}}}`` keyed by the run labels, in :attr:`pairs` order."""
        def tasks(pair: PairComparison) -> dict:
            return {t: c.to_dict() for t, c in pair.tasks.items()}
        if len(self.pairs) == 1:
            return {"tasks": tasks(self.pairs[0])}
        return {"pairs": {p.key: {"a": p.a, "b": p.b, "tasks": tasks(p)} for p in self.pairs}}

    def to_markdown(self) -> str:
        lines = [f"Paired comparison, {self.resamples:,} resamples, seed {self.seed}; scores on "
                 "the 0-100 scale; CI: 95% paired bootstrap of a - b; p: two-sided paired "
                 "randomization test, p_holm: Holm-adjusted across tasks."]
        for pair in self.pairs:
            lines += ["", f"**a** = {pair.a}, **b** = {pair.b}", "",
                      "| Task | a | b | a - b | 95% CI | p | p_holm | wins/ties/losses | n |",
                      "|---|---:|---:|---:|---|---:|---:|---|---:|"]
            for task, c in pair.tasks.items():
                lines.append(f"| {task} | {100 * c.a:.2f} | {100 * c.b:.2f} | "
                             f"{100 * c.delta:+.2f} | [{100 * c.ci[0]:+.2f}, {100 * c.ci[1]:+.2f}]"
                             f" | {c.p_value:.4f} | {c.p_holm:.4f} | {c.wins}/{c.ties}/{c.losses}"
                             f" | {c.n} |")
            for task, c in pair.tasks.items():
                if c.divergent:
                    lines += ["", f"{task}: queries where a and b differ most "
                                  "(rank of the first relevant document; what each put first)"]
                    lines += [f"- {d.query_id} {_short(d.query)}: a {d.value_a:.3f} (rank "
                              f"{_rank(d.rank_a)}, top: {_short(d.top_a)}) vs b {d.value_b:.3f} "
                              f"(rank {_rank(d.rank_b)}, top: {_short(d.top_b)})"
                              for d in c.divergent]
        lines += ["", *self.notes] if self.notes else []
        if self.scores:
            lines += ["", "Each run's scores: 95% bootstrap CI and 95% rank interval (joint "
                      "bootstrap; * = indistinguishable from the first)", "",
                      "| Run | " + " | ".join(s.label for s in self.scores) + " |",
                      "|---|" + "---|" * len(self.scores)]
            for i, run in enumerate(self.runs):
                lines.append(f"| {run} | " + " | ".join(_cell(s, i) for s in self.scores) + " |")
        return "\n".join(lines) + "\n"

    def to_html(self) -> str:
        rows = []
        for pair in self.pairs:
            rows.append(f"<h2>a = {html.escape(pair.a)}, b = {html.escape(pair.b)}</h2>")
            rows.append("<table><tr><th>Task</th><th>a</th><th>b</th><th>a − b</th>"
                        "<th>95% CI</th><th>p</th><th>p (Holm)</th><th>W/T/L</th><th>n</th></tr>")
            for task, c in pair.tasks.items():
                rows.append(f"<tr><td>{html.escape(task)}</td><td>{100 * c.a:.2f}</td>"
                            f"<td>{100 * c.b:.2f}</td><td>{100 * c.delta:+.2f}</td>"
                            f"<td>[{100 * c.ci[0]:+.2f}, {100 * c.ci[1]:+.2f}]</td>"
                            f"<td>{c.p_value:.4f}</td><td>{c.p_holm:.4f}</td>"
                            f"<td>{c.wins}/{c.ties}/{c.losses}</td><td>{c.n}</td></tr>")
            rows.append("</table>")
            for task, c in pair.tasks.items():
                if c.divergent:
                    rows.append(f"<h3>{html.escape(task)}: queries where they differ most</h3>"
                                "<ul>" + "".join(
                                    f"<li>{html.escape(d.query_id)} {html.escape(d.query)}: "
                                    f"a {d.value_a:.3f} (rank {_rank(d.rank_a)}, top: "
                                    f"{html.escape(d.top_a)}); b {d.value_b:.3f} (rank "
                                    f"{_rank(d.rank_b)}, top: {html.escape(d.top_b)})</li>"
                                    for d in c.divergent) + "</ul>")
        rows += [f"<p>{html.escape(note)}</p>" for note in self.notes]
        if self.scores:
            rows.append("<h2>Scores: 95% CI and rank interval (* indistinguishable from the "
                        "first)</h2><table><tr><th>Run</th>" + "".join(
                            f"<th>{html.escape(s.label)}</th>" for s in self.scores) + "</tr>")
            rows += [f"<tr><td>{html.escape(run)}</td>" + "".join(
                f"<td>{_cell(s, i)}</td>" for s in self.scores) + "</tr>"
                for i, run in enumerate(self.runs)]
            rows.append("</table>")
        return ("<!doctype html><meta charset=\"utf-8\"><title>medteb compare</title>"
                f"<p>{self.resamples:,} resamples, seed {self.seed}.</p>" + "".join(rows) + "\n")


def _cell(ranking: ScoreRanking, i: int) -> str:
    lo, hi = ranking.ci[i]
    first, last = ranking.rank_ci[i]
    mark = "*" if ranking.tied_first[i] else ""
    return (f"{100 * ranking.scores[i]:.2f} [{100 * lo:.2f}, {100 * hi:.2f}] "
            f"rank {first}–{last}{mark}")


def _short(text: str, width: int = 40) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _rank(rank: int | None) -> str:
    return "–" if rank is None else str(rank)


def compare_task(a: PerQuery, b: PerQuery, resamples: int = RESAMPLES,
                 seed: int = SEED) -> TaskComparison:
    """Paired statistics of two runs' per-query scores on one task (p_holm = p_value)."""
    check_same_data(a, b, a.model or "a", b.model or "b")
    kind = a.kind
    scores = ScoreSet(kind, np.stack([a.values, b.values]), a.gold)
    observed = scores.observed()
    diff = bootstrap(scores, resamples, task_rng(seed, a.task)) @ np.array([1.0, -1.0])
    rng = task_rng(seed + 1, a.task)
    if kind == "mean":
        p = sign_flip_p(a.values, b.values, resamples, rng)
        share_a, share_b = a.values, b.values
    else:
        p = pearson_swap_p(a.values, b.values, a.gold, resamples, rng)
        share_a, share_b = pearson_shares(a.values, a.gold), pearson_shares(b.values, a.gold)
    gap = share_a - share_b
    lo, hi = percentile_ci(diff[:, None])[0]
    return TaskComparison(a=float(observed[0]), b=float(observed[1]),
                          delta=float(observed[0] - observed[1]), ci=(float(lo), float(hi)),
                          p_value=p, p_holm=p, wins=int((gap > TIE).sum()),
                          ties=int((np.abs(gap) <= TIE).sum()), losses=int((gap < -TIE).sum()),
                          n=a.values.size)


def pearson_shares(x: np.ndarray, gold: np.ndarray) -> np.ndarray:
    z = (x - x.mean()) / x.std()
    zg = (gold - gold.mean()) / gold.std()
    return z * zg / x.size


def compare(runs: Sequence[Run], resamples: int = RESAMPLES, seed: int = SEED,
            top: int = 5) -> CompareReport:
    """Compare every pair of runs on the tasks they share.

    Raises:
        AnalysisError: fewer than two runs, a pair with no task in common, or different data.
    """
    if len(runs) < 2:
        raise AnalysisError(f"compare needs at least two runs, got {len(runs)}")
    pairs = []
    notes = []
    for run_a, run_b in itertools.combinations(runs, 2):
        for one, two in ((run_a, run_b), (run_b, run_a)):
            notes += [f"Not compared: {t} has no scores of {two.label} (only of {one.label})."
                      for t in one.scores if t not in two.scores]
        shared = [t for t in run_a.scores if t in run_b.scores]
        if not shared:
            raise AnalysisError(f"{run_a.label} and {run_b.label} have no task in common "
                                f"({', '.join(run_a.scores)} vs {', '.join(run_b.scores)})")
        results = {}
        for task in shared:
            check_same_data(run_a.scores[task], run_b.scores[task], run_a.label, run_b.label)
            results[task] = compare_task(run_a.scores[task], run_b.scores[task], resamples, seed)
        adjusted = holm([c.p_value for c in results.values()])
        tasks = {}
        for (task, c), p_holm in zip(results.items(), adjusted, strict=True):
            tasks[task] = TaskComparison(**{**c.__dict__, "p_holm": p_holm,
                                            "divergent": _divergent(run_a, run_b, task, top)})
        pairs.append(PairComparison(a=run_a.label, b=run_b.label, tasks=tasks))
    shared = [t for t in runs[0].scores if all(t in r.scores for r in runs)]
    sets = {t: ScoreSet(runs[0].scores[t].kind, np.stack([r.scores[t].values for r in runs]),
                        runs[0].scores[t].gold) for t in shared}
    board = rankings([r.label for r in runs], sets, resamples=resamples, seed=seed)
    return CompareReport(runs=tuple(r.label for r in runs), pairs=tuple(pairs),
                         resamples=resamples, seed=seed, scores=tuple(board.values()),
                         notes=tuple(dict.fromkeys(notes)))


def _divergent(a: Run, b: Run, task: str, top: int) -> tuple[Divergent, ...]:
    if top <= 0 or task not in a.predictions or task not in b.predictions:
        return ()
    pa, pb = a.scores[task], b.scores[task]
    gap = np.abs(pa.values - pb.values)
    order = sorted(range(gap.size), key=lambda i: (-gap[i], pa.ids[i]))[:top]
    data = a.tasks[task].dataset["default"]["test"]
    queries = {row["id"]: row["text"] for row in data["queries"]}
    corpus = data["corpus"]
    docs = {row["id"]: row.get("text", "") for row in corpus}
    relevant = data["relevant_docs"]
    out = []
    for i in order:
        if gap[i] <= TIE:
            break
        q = pa.ids[i]
        ranked_a = _ranked(a.predictions[task].get(q, {}))
        ranked_b = _ranked(b.predictions[task].get(q, {}))
        out.append(Divergent(
            query_id=q, query=queries.get(q, ""), value_a=float(pa.values[i]),
            value_b=float(pb.values[i]), rank_a=_first_relevant(ranked_a, relevant.get(q, {})),
            rank_b=_first_relevant(ranked_b, relevant.get(q, {})),
            top_a=docs.get(ranked_a[0], "") if ranked_a else "",
            top_b=docs.get(ranked_b[0], "") if ranked_b else ""))
    return tuple(out)


def _ranked(scores: dict[str, float]) -> list[str]:
    # trec_eval's order (so pytrec_eval's): score descending, ties by document id descending
    return [d for d, _ in sorted(scores.items(), key=lambda x: (float(x[1]), x[0]),
                                 reverse=True)]


def _first_relevant(ranked: list[str], relevant: dict[str, int]) -> int | None:
    return next((i + 1 for i, d in enumerate(ranked) if relevant.get(d, 0) > 0), None)
