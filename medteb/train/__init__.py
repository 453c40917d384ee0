"""Train your own asymmetric retriever: the MedTEB paper's two-stage recipe (§4, Appendix D, G).

- :mod:`medteb.train.losses`: Asym-InfoNCE (Eq. 1), MSE alignment (Eq. 2), the Stage I objective
  (Eq. 3) and Matryoshka InfoNCE (Eq. 4) — pure functions of embeddings;
- :mod:`medteb.train.data`: training triplets (JSONL or a MedTEB-Retrieval folder) and the
  alignment-text builder;
- :mod:`medteb.train.encoders`: the trainable query encoder (sentence-transformers, with a linear
  projection when its width differs from the target dimension) and document encoder (plain
  transformers, LoRA, last-token pooling with EOS appended — the same tokenisation and pooling
  ``medteb run`` uses);
- :mod:`medteb.train.loop`: the optimisation loop (``accelerate``: device, bf16/fp16; AdamW with
  linear warm-up and decay; checkpoints of the trainable weights and optimiser; resume);
- :mod:`medteb.train.recipe`: the stages (:class:`~medteb.train.recipe.PairRecipe` and one
  function per stage);
- :mod:`medteb.train.pair`: :func:`~medteb.train.pair.train_pair`, which runs the stages and
  writes a pair ``medteb run --query-model OUT/query --document-model OUT/document`` loads.

Importing this package is light; torch, transformers and peft load when a stage runs.
See docs/training.md.
"""

from __future__ import annotations


def require_training_extras() -> None:
    """Raise :class:`~medteb.errors.TrainingError` if ``peft`` or ``accelerate`` is missing."""
    import importlib.util

    from medteb.errors import TrainingError

    missing = [name for name in ("peft", "accelerate") if importlib.util.find_spec(name) is None]
    if missing:
        raise TrainingError(f"training needs {' and '.join(missing)}; install them with "
                            "pip install 'medteb[train]'")
