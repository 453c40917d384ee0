"""The recipe's losses (paper §4.3, Appendix D.2), as pure functions of embedding batches.

All similarities are cosine: every function L2-normalises its inputs (after Matryoshka
truncation, where there is one). Each returns a scalar tensor averaged over the batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from torch import Tensor


def asym_info_nce(queries: Tensor, positives: Tensor, negatives: Tensor | None = None,
                  temperature: float = 0.05) -> Tensor:
    """Asym-InfoNCE (paper Eq. 1) with in-batch and hard negatives.

    Query ``i`` is scored against every positive of the batch and every hard negative of the
    batch; its own positive is the target, all other candidates are negatives:
    ``-log(exp(s+/τ) / (exp(s+/τ) + Σ exp(s-/τ)))`` with ``s = cos(q, d)``.

    Args:
        queries: ``(batch, dim)`` query-encoder embeddings.
        positives: ``(batch, dim)`` document-encoder embeddings of each query's positive.
        negatives: ``(batch, k, dim)`` hard negatives per query, or None (in-batch only).
        temperature: τ.

    Returns:
        The mean loss over the batch.
    """
    import torch
    import torch.nn.functional as F

    q = F.normalize(queries.float(), dim=-1)
    candidates = [positives.float()]
    if negatives is not None and negatives.numel():
        candidates.append(negatives.float().reshape(-1, negatives.shape[-1]))
    d = F.normalize(torch.cat(candidates), dim=-1)
    logits = q @ d.T / temperature
    target = torch.arange(q.shape[0], device=q.device)
    return F.cross_entropy(logits, target)


def mse_alignment(queries: Tensor, documents: Tensor) -> Tensor:
    """MSE alignment (paper Eq. 2): ``||E_Q(t) - E_D(t)||²`` of the L2-normalised embeddings of
    the same text, averaged over the batch (equal to ``2 - 2 cos``)."""
    import torch.nn.functional as F

    q = F.normalize(queries.float(), dim=-1)
    d = F.normalize(documents.float(), dim=-1)
    return ((q - d) ** 2).sum(-1).mean()


def alignment_loss(queries: Tensor, documents: Tensor, temperature: float = 0.05,
                   contrastive_weight: float = 1.0, mse_weight: float = 1.0) -> Tensor:
    """The Stage I objective (paper Eq. 3): ``λ1·Asym-InfoNCE + λ2·MSE`` (λ1 = λ2 = 1).

    Row ``i`` of ``queries`` and ``documents`` embed the same text (its own positive); the other
    rows are the in-batch negatives.
    """
    return (contrastive_weight * asym_info_nce(queries, documents, None, temperature)
            + mse_weight * mse_alignment(queries, documents))


def matryoshka_info_nce(queries: Tensor, positives: Tensor, negatives: Tensor | None,
                        dims: Sequence[int], temperature: float = 0.05) -> Tensor:
    """Matryoshka InfoNCE (paper Eq. 4): the mean over ``dims`` of :func:`asym_info_nce` on the
    embeddings truncated to their first ``m`` dimensions (then normalised)."""
    if not dims:
        raise ValueError("Matryoshka loss needs at least one dimension")
    losses = [asym_info_nce(queries[..., :m], positives[..., :m],
                            None if negatives is None else negatives[..., :m], temperature)
              for m in dims]
    return sum(losses[1:], losses[0]) / len(losses)
