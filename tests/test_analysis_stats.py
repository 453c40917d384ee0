"""The resampling statistics against scipy.stats and against numbers worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps

from medteb.analysis.ranking import rankings
from medteb.analysis.stats import (
    ScoreSet,
    bootstrap,
    count_chunks,
    holm,
    pearson_swap_p,
    percentile_ci,
    rank_intervals,
    sign_flip_p,
    tied_with_first,
)
from medteb.errors import AnalysisError

RNG = np.random.default_rng(42)
A = RNG.uniform(0, 1, 200)
B = np.clip(A - 0.05 + RNG.normal(0, 0.2, 200), 0, 1)
GOLD = RNG.uniform(0, 1, 300)
SIM_A = GOLD + RNG.normal(0, 0.3, 300)
SIM_B = GOLD + RNG.normal(0, 0.5, 300)


def test_counts_are_resamples() -> None:
    chunks = list(count_chunks(7, 2500, np.random.default_rng(0), chunk=1000))
    assert [c.shape for c in chunks] == [(1000, 7), (1000, 7), (500, 7)]
    assert all((c.sum(axis=1) == 7).all() for c in chunks)
    with pytest.raises(AnalysisError, match="--resamples must be at least 1, not 0"):
        next(count_chunks(7, 0, np.random.default_rng(0)))


def test_weighted_scores_by_hand() -> None:
    # counts [2, 0, 1] of values [0, 0.5, 1]: (0 + 0 + 1) / 3
    mean = ScoreSet("mean", np.array([[0.0, 0.5, 1.0]]))
    assert mean.weighted(np.array([[2, 0, 1]]))[0, 0] == pytest.approx(1 / 3)
    assert mean.observed()[0] == pytest.approx(0.5)
    # a weighted Pearson with integer counts is the Pearson of the repeated data
    x, g = np.array([0.1, 0.4, 0.3, 0.9]), np.array([0.0, 1.0, 0.5, 1.0])
    pearson = ScoreSet("pearson", x[None], g)
    repeated = sps.pearsonr(np.repeat(x, [1, 3, 0, 2]), np.repeat(g, [1, 3, 0, 2]))[0]
    assert pearson.weighted(np.array([[1, 3, 0, 2]]))[0, 0] == pytest.approx(repeated)
    assert pearson.observed()[0] == pytest.approx(sps.pearsonr(x, g)[0])


def test_bootstrap_ci_equals_scipy() -> None:
    ours = percentile_ci(bootstrap(ScoreSet("mean", A[None]), 20_000,
                                   np.random.default_rng(1)))[0]
    theirs = sps.bootstrap((A,), np.mean, n_resamples=20_000, method="percentile",
                           random_state=np.random.default_rng(2)).confidence_interval
    # Monte Carlo error of a 2.5% quantile at 20,000 resamples: well under 0.3 standard errors
    se = A.std() / np.sqrt(A.size)
    assert ours == pytest.approx([theirs.low, theirs.high], abs=0.1 * se)
    # the check can fail: another sample's interval is far off
    other = percentile_ci(bootstrap(ScoreSet("mean", B[None]), 2000, np.random.default_rng(1)))
    assert abs(other[0][0] - theirs.low) > 0.5 * se


def test_pearson_ci_equals_scipy() -> None:
    ours = percentile_ci(bootstrap(ScoreSet("pearson", SIM_A[None], GOLD), 20_000,
                                   np.random.default_rng(1)))[0]

    def r(x: np.ndarray, g: np.ndarray, axis: int = -1) -> np.ndarray:
        return sps.pearsonr(x, g, axis=axis)[0]

    theirs = sps.bootstrap((SIM_A, GOLD), r, paired=True, vectorized=True, n_resamples=20_000,
                           method="percentile", random_state=np.random.default_rng(2))
    assert ours == pytest.approx([theirs.confidence_interval.low,
                                  theirs.confidence_interval.high], abs=0.004)


def test_sign_flip_equals_scipy_permutation_test() -> None:
    ours = sign_flip_p(A, B, 20_000, np.random.default_rng(3))
    theirs = sps.permutation_test(
        (A, B), lambda x, y, axis=-1: np.mean(x - y, axis=axis), permutation_type="samples",
        vectorized=True, n_resamples=20_000, alternative="two-sided",
        random_state=np.random.default_rng(4)).pvalue
    assert 0.001 < theirs < 0.5  # a p-value whose Monte Carlo error can be seen
    assert ours == pytest.approx(theirs, abs=4 * np.sqrt(theirs * (1 - theirs) / 20_000) + 1e-4)


def test_pearson_swap_equals_scipy_permutation_test() -> None:
    ours = pearson_swap_p(SIM_A, SIM_B, GOLD, 5000, np.random.default_rng(3))

    def stat(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
        return sps.pearsonr(x, GOLD, axis=axis)[0] - sps.pearsonr(y, GOLD, axis=axis)[0]

    theirs = sps.permutation_test((SIM_A, SIM_B), stat, permutation_type="samples",
                                  vectorized=True, n_resamples=5000,
                                  random_state=np.random.default_rng(4)).pvalue
    assert ours == pytest.approx(theirs, abs=4 * np.sqrt(max(theirs, 1e-3) / 5000) + 2e-4)


def test_identical_runs() -> None:
    assert sign_flip_p(A, A, 1000, np.random.default_rng(0)) == 1.0
    assert pearson_swap_p(SIM_A, SIM_A, GOLD, 1000, np.random.default_rng(0)) == 1.0
    dist = bootstrap(ScoreSet("mean", np.stack([A, A])), 1000, np.random.default_rng(0))
    lo, hi = percentile_ci(dist[:, 0] - dist[:, 1])
    assert lo <= 0 <= hi


def test_better_on_every_query() -> None:
    better = A + 0.01 + RNG.uniform(0, 0.01, A.size)
    # every one of 2^200 sign patterns but the observed one is less extreme
    assert sign_flip_p(better, A, 2000, np.random.default_rng(0)) == 1 / 2001
    dist = bootstrap(ScoreSet("mean", np.stack([better, A])), 2000, np.random.default_rng(0))
    assert percentile_ci(dist[:, 0] - dist[:, 1])[0] > 0


def test_sign_flip_by_hand() -> None:
    # differences [1, 1]: sign patterns ++, +-, -+, -- give |mean| 1, 0, 0, 1; half as extreme
    p = sign_flip_p(np.array([1.0, 1.0]), np.zeros(2), 40_000, np.random.default_rng(0))
    assert p == pytest.approx(0.5, abs=0.01)


def test_same_seed_same_output() -> None:
    def run(seed: int) -> np.ndarray:
        return bootstrap(ScoreSet("mean", np.stack([A, B])), 500, np.random.default_rng(seed))

    assert np.array_equal(run(5), run(5))
    assert not np.array_equal(run(5), run(6))
    assert sign_flip_p(A, B, 500, np.random.default_rng(5)) == sign_flip_p(
        A, B, 500, np.random.default_rng(5))


def test_holm_by_hand() -> None:
    # sorted 0.01, 0.03, 0.04 -> 3 x 0.01, 2 x 0.03, max(0.06, 1 x 0.04)
    assert holm([0.01, 0.04, 0.03]) == [0.03, 0.06, 0.06]
    assert holm([0.5, 0.9]) == [1.0, 1.0]
    assert holm([]) == []


def test_ranks_by_hand() -> None:
    # three resamples of three models; ties share the better rank: model 0 ranks 1, 2, 1;
    # model 1 ranks 2, 1, 1 (tied in the third); model 2 ranks 3 each time
    dist = np.array([[0.9, 0.5, 0.1], [0.4, 0.5, 0.1], [0.5, 0.5, 0.2]])
    assert rank_intervals(dist, level=0.0).tolist() == [[1, 1], [1, 1], [3, 3]]
    assert rank_intervals(dist, level=0.99).tolist() == [[1, 2], [1, 2], [3, 3]]
    separated = np.stack([np.full(100, 0.9), np.full(100, 0.5)], axis=1)
    assert tied_with_first(separated, np.array([0.9, 0.5])).tolist() == [True, False]
    noisy = np.random.default_rng(0).normal(0, 1, (1000, 2))
    assert tied_with_first(noisy, np.array([0.1, 0.0])).tolist() == [True, True]


def test_rankings_and_averages() -> None:
    rng = np.random.default_rng(0)
    strong = rng.uniform(0.5, 1, (1, 300))
    sets = {"T1": ScoreSet("mean", np.concatenate([strong, strong - 0.3, strong - 0.3001])),
            "T2": ScoreSet("pearson", np.stack([GOLD, GOLD + rng.normal(0, 1, 300),
                                                GOLD + rng.normal(0, 1, 300)]), GOLD)}
    out = rankings(["s", "w1", "w2"], sets, {"Both": ("T1", "T2"), "Absent": ("T3",)},
                   resamples=2000, seed=0)
    assert set(out) == {"T1", "T2", "Both"}
    both = out["Both"]
    assert both.scores[0] == pytest.approx((strong.mean() + 1.0) / 2)
    assert both.rank_ci[0].tolist() == [1, 1] and both.tied_first.tolist() == [True, False, False]
    # w1 beats w2 by 0.0001 on every query: the joint (paired) bootstrap never swaps them
    assert out["T1"].rank_ci[1:].tolist() == [[2, 2], [3, 3]]
    # on T2 the two weak models' noise is independent: their ranks overlap
    assert out["T2"].rank_ci[1:].tolist() == [[2, 3], [2, 3]]
    assert (out["T1"].ci[:, 0] <= out["T1"].scores).all()
    assert out["T1"].to_dict()["models"]["s"]["rank_ci"] == [1, 1]
    with pytest.raises(AnalysisError, match="T1: 3 rows of scores for 2 models"):
        rankings(["a", "b"], sets)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"kind": "median", "values": [[1.0, 2.0]]}, "unknown score kind 'median'"),
    ({"kind": "mean", "values": [[1.0, np.nan, 2.0]]}, "1 non-finite per-query values"),
    ({"kind": "mean", "values": [[1.0, np.inf]]}, "1 non-finite per-query values"),
    ({"kind": "mean", "values": [[1.0]]}, "1 queries: a resampled score needs at least 2"),
    ({"kind": "pearson", "values": [[1.0, 2.0]]}, "a pearson score set needs the gold scores"),
    ({"kind": "pearson", "values": [[1.0, 2.0]], "gold": [1.0]}, "1 gold scores for 2 pairs"),
    ({"kind": "pearson", "values": [[1.0, 2.0]], "gold": [1.0, np.nan]}, "1 non-finite gold"),
])
def test_bad_score_sets(kwargs: dict, message: str) -> None:
    with pytest.raises(AnalysisError, match=message):
        ScoreSet(**kwargs)


def test_non_finite_differences() -> None:
    with pytest.raises(AnalysisError, match="1 non-finite per-query differences"):
        sign_flip_p(np.array([1.0, np.nan]), np.zeros(2), 10, np.random.default_rng(0))
    with pytest.raises(AnalysisError, match="non-finite similarities or gold scores"):
        pearson_swap_p(np.array([1.0, np.inf]), np.zeros(2), np.ones(2), 10,
                       np.random.default_rng(0))


def test_pearson_shares_sum_to_r() -> None:
    """STS wins / ties / losses compare each pair's share z(x) z(g) / n of the correlation."""
    from medteb.analysis.compare import pearson_shares

    shares = pearson_shares(SIM_A, GOLD)
    assert shares.sum() == pytest.approx(sps.pearsonr(SIM_A, GOLD)[0], abs=1e-12)
    assert shares.sum() != pytest.approx(sps.pearsonr(SIM_B, GOLD)[0], abs=1e-3)
