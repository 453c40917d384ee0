"""The two-stage recipe (paper §4, Appendix D.2, G); :func:`medteb.train.pair.train_pair` runs it.

0. :func:`prepare_document_encoder` — LoRA contrastive fine-tuning of the decoder-only document
   encoder, last-token pooling, InfoNCE with in-batch and hard negatives averaged over nested
   Matryoshka dimensions (Eq. 4); the adapters are then merged.
1. :func:`align_query_encoder` (Stage I) — the document encoder frozen as teacher; the query
   encoder learns ``λ1·Asym-InfoNCE + λ2·MSE`` (Eq. 1–3) on alignment texts, each its own
   positive, in-batch negatives.
2. :func:`joint_finetune` (Stage II) — both encoders trainable (the document side through fresh
   LoRA adapters), one learning rate, Asym-InfoNCE with hard and in-batch negatives.

:func:`train_pair` saves ``OUT/query`` (sentence-transformers), ``OUT/document`` (plain
transformers, LoRA merged), ``OUT/medteb_pair.json`` and the model card ``OUT/README.md``. Each
finished stage is kept under ``OUT/stages/`` and each running stage checkpoints under
``OUT/checkpoints/``, so running it again resumes where it stopped.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from medteb.errors import TrainingError
from medteb.models.names import PAIR_FILE as PAIR_FILE  # re-exported: the pair file's name
from medteb.train.loop import StageLog, StageSettings, run_stage

if TYPE_CHECKING:
    from medteb.train.data import Triplet
    from medteb.train.encoders import DocumentEncoder, QueryEncoder

STAGES = ("document", "alignment", "joint")


@dataclass(frozen=True)
class PairRecipe:
    """Everything that defines a training run besides the models and the data.

    Attributes:
        dim: the compared dimension: the document encoder's Matryoshka truncation and the query
            encoder's output (a linear projection is added when the query encoder's width
            differs). None: the query encoder's width.
        mrl_dims: nested Matryoshka dimensions of document preparation; None: ``dim``, doubled
            while below the document width, and the document width.
        query_pooling: pooling of a plain transformers query model (``cls`` or ``mean``).
        query_max_length / document_max_length: token limits (the paper: 512).
        lora_rank / lora_alpha / lora_dropout / lora_target_modules: the document side's LoRA
            (paper: rank 32, alpha 64).
        negatives_per_query: hard negatives sampled per query and step (document preparation
            and Stage II).
        contrastive_weight / mse_weight: λ1, λ2 of Stage I (paper: 1, 1).
        query_template: how queries are presented to the query encoder, in training and in
            ``medteb run`` (``{text}``: no instruction, i.e. ``--no-instructions``).
        document_stage: settings of document preparation; None skips it (an already prepared
            document encoder).
        alignment_stage / joint_stage: settings of Stage I and Stage II.
        document_dtype: the document encoder's weights (``float32``, ``bfloat16``,
            ``float16``); LoRA adapters stay float32 (``peft``'s default), so half-precision base
            weights halve memory without rounding the updates.
        device: torch device; None picks CUDA when available.
    """

    dim: int | None = None
    mrl_dims: tuple[int, ...] | None = None
    query_pooling: str = "cls"
    query_max_length: int = 512
    document_max_length: int = 512
    lora_rank: int = 32
    lora_alpha: int = 64
    lora_dropout: float = 0.05
    lora_target_modules: str = "all-linear"
    negatives_per_query: int = 1
    contrastive_weight: float = 1.0
    mse_weight: float = 1.0
    query_template: str = "{text}"
    document_stage: StageSettings | None = field(default_factory=StageSettings)
    alignment_stage: StageSettings = field(default_factory=StageSettings)
    joint_stage: StageSettings = field(default_factory=StageSettings)
    document_dtype: str = "float32"
    device: str | None = None

    def check(self) -> None:
        """Raise :class:`TrainingError` for settings that cannot work (nothing is loaded)."""
        if "{text}" not in self.query_template:
            raise TrainingError(f"query template {self.query_template!r} has no {{text}}")
        if self.dim is not None and self.dim < 1:
            raise TrainingError(f"dim must be positive, got {self.dim}")
        if self.lora_rank < 1 or self.lora_alpha <= 0:
            raise TrainingError(f"LoRA rank and alpha must be positive, got rank "
                                f"{self.lora_rank}, alpha {self.lora_alpha}")
        if self.document_dtype not in ("float32", "bfloat16", "float16"):
            raise TrainingError(f"document dtype must be float32, bfloat16 or float16, got "
                                f"{self.document_dtype!r}")
        if self.negatives_per_query < 0:
            raise TrainingError("negatives_per_query cannot be negative")
        for name in STAGES:
            settings = self.stage(name)
            if settings is not None:
                settings.check(name)

    def stage(self, name: str) -> StageSettings | None:
        return {"document": self.document_stage, "alignment": self.alignment_stage,
                "joint": self.joint_stage}[name]

    def matryoshka_dims(self, dim: int, document_width: int) -> tuple[int, ...]:
        if self.mrl_dims is not None:
            dims = tuple(sorted(set(self.mrl_dims)))
        else:
            found, m = [], dim
            while m < document_width:
                found.append(m)
                m *= 2
            dims = (*found, document_width)
        if dim not in dims or dims[-1] > document_width or dims[0] < 1:
            raise TrainingError(f"Matryoshka dimensions {dims} must include the target dimension "
                                f"{dim} and lie within the document width {document_width}")
        return dims

    def format_query(self, text: str) -> str:
        return self.query_template.replace("{instruction}", "").replace("{text}", text)


Progress = Callable[[str], None] | None
Step = Callable[[int, float], None] | None


def _sample(items: Sequence[str], k: int, rng: random.Random) -> list[str]:
    return list(items) if len(items) <= k else rng.sample(list(items), k)


def _triplet_batch(triplets: Sequence[Triplet], indices: list[int], step: int, seed: int,
                   k: int) -> tuple[list[str], list[str], list[str]]:
    """Queries, one positive each and up to ``k`` hard negatives each; seeded by the step."""
    queries, positives, negatives = [], [], []
    for i in indices:
        rng = random.Random(seed * 1_000_003 + step * 10_007 + i)
        t = triplets[i]
        queries.append(t.query)
        positives.append(rng.choice(t.positives))
        negatives.extend(_sample(t.negatives, k, rng))
    return queries, positives, negatives


def _seed(seed: int) -> None:
    import torch

    random.seed(seed)
    torch.manual_seed(seed)


def prepare_document_encoder(document: DocumentEncoder, triplets: Sequence[Triplet],
                             recipe: PairRecipe, dims: Sequence[int],
                             checkpoint_dir: str | Path | None = None, resume: bool = True,
                             on_progress: Progress = None, on_step: Step = None,
                             show_progress: bool = True) -> StageLog:
    """Document-encoder preparation: LoRA, last-token pooling, Matryoshka InfoNCE (Eq. 4).

    Queries and documents both go through the document encoder; each query's candidates are
    every positive and hard negative of the batch. LoRA adapters are added if absent (merge
    them afterwards with :meth:`DocumentEncoder.merge_lora`).
    """
    from medteb.train.losses import matryoshka_info_nce

    settings = recipe.document_stage or StageSettings()
    _seed(settings.seed)
    if not document.has_lora:
        document.add_lora(recipe.lora_rank, recipe.lora_alpha, recipe.lora_dropout,
                          recipe.lora_target_modules)
    if settings.gradient_checkpointing:
        document.enable_gradient_checkpointing()

    def loss(indices: list[int], step: int) -> Any:
        queries, positives, negatives = _triplet_batch(triplets, indices, step, settings.seed,
                                                       recipe.negatives_per_query)
        q, p = document(queries), document(positives)
        n = document(negatives) if negatives else None
        return matryoshka_info_nce(q, p, n, dims, settings.temperature)

    return run_stage("document", {"document": document.model}, len(triplets), loss, settings,
                     checkpoint_dir, resume, on_progress, on_step, show_progress)


def align_query_encoder(query: QueryEncoder, document: DocumentEncoder, texts: Sequence[str],
                        recipe: PairRecipe, checkpoint_dir: str | Path | None = None,
                        resume: bool = True, on_progress: Progress = None, on_step: Step = None,
                        show_progress: bool = True) -> StageLog:
    """Stage I: the document encoder frozen; the query encoder learns Eq. 3 on ``texts``.

    Each text is embedded by both encoders (its own positive); the document vector is
    truncated to the query encoder's output dimension; the batch's other texts are negatives.
    """
    import torch

    from medteb.train.losses import alignment_loss

    settings = recipe.alignment_stage
    dim = query.dim
    if dim > document.dim:
        raise TrainingError(f"the query encoder outputs {dim}-d vectors but the document "
                            f"encoder only {document.dim}-d; choose a smaller dim")
    document.freeze()
    if settings.gradient_checkpointing:
        query.enable_gradient_checkpointing()

    def loss(indices: list[int], step: int) -> Any:
        batch = [texts[i] for i in indices]
        q = query([recipe.format_query(t) for t in batch])
        with torch.no_grad():
            d = document(batch)[:, :dim]
        return alignment_loss(q, d, settings.temperature, recipe.contrastive_weight,
                              recipe.mse_weight)

    return run_stage("alignment", {"query": query.module}, len(texts), loss, settings,
                     checkpoint_dir, resume, on_progress, on_step, show_progress)


def joint_finetune(query: QueryEncoder, document: DocumentEncoder, triplets: Sequence[Triplet],
                   recipe: PairRecipe, checkpoint_dir: str | Path | None = None,
                   resume: bool = True, on_progress: Progress = None, on_step: Step = None,
                   show_progress: bool = True) -> StageLog:
    """Stage II: query encoder and document LoRA adapters trained together (one learning rate)
    on Asym-InfoNCE with hard and in-batch negatives, at the query encoder's dimension."""
    from medteb.train.losses import asym_info_nce

    settings = recipe.joint_stage
    dim = query.dim
    _seed(settings.seed)
    if not document.has_lora:
        document.add_lora(recipe.lora_rank, recipe.lora_alpha, recipe.lora_dropout,
                          recipe.lora_target_modules)
    if settings.gradient_checkpointing:
        query.enable_gradient_checkpointing()
        document.enable_gradient_checkpointing()

    def loss(indices: list[int], step: int) -> Any:
        queries, positives, negatives = _triplet_batch(triplets, indices, step, settings.seed,
                                                       recipe.negatives_per_query)
        q = query([recipe.format_query(t) for t in queries])
        p = document(positives)[:, :dim]
        n = document(negatives)[:, :dim] if negatives else None
        return asym_info_nce(q, p, n, settings.temperature)

    return run_stage("joint", {"query": query.module, "document": document.model},
                     len(triplets), loss, settings, checkpoint_dir, resume, on_progress, on_step,
                     show_progress)
