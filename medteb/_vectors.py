"""Row-wise L2 normalisation, the one implementation used by search, pairs and the build."""

from __future__ import annotations

from typing import Any

import numpy as np


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
