"""Pre-encode the documents of tasks into the document store (``medteb encode-documents``).

The expensive side of an asymmetric pair is its document encoder. Encoding a task's corpus
once — on a GPU machine, say — lets later ``medteb run --stored-documents-only`` evaluations of
any number of query encoders run without the document model. Documents reach the encoder through
the same loader as ``medteb run``'s search, so their texts (title + text) are exactly what an
evaluation encodes.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from medteb.errors import DataUnavailableError

if TYPE_CHECKING:
    from medteb.evaluation.ray_encode import RaySettings
    from medteb.models.asymmetric import AsymmetricSpec

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EncodedTask:
    """Documents of one task split: how many, how many were encoded now, or why skipped."""

    task: str
    split: str | None = None
    documents: int = 0
    encoded: int = 0
    skipped: str | None = None


def encode_documents(spec: AsymmetricSpec, tasks: Sequence[str] | None,
                     data_dir: str | os.PathLike | None, eval_splits: Sequence[str] | None = None,
                     batch_size: int = 32, show_progress: bool = True,
                     on_progress: Callable[[str], None] = logger.info,
                     ray: RaySettings | None = None) -> list[EncodedTask]:
    """Encode every document of ``tasks`` with the document side of ``spec`` into its store.

    Documents already stored are not encoded again, so an interrupted call resumes.

    Args:
        ray: encode on Ray workers instead of in this process (:mod:`medteb.evaluation.ray_encode`).

    Raises:
        UnknownTaskError, DataValidationError: as for ``medteb run`` (checked before loading).
        DataUnavailableError: no task has documents to encode.
    """
    from medteb._hub import decide_hub_access

    decide_hub_access()  # once per process, before any dataset or model is looked up
    from mteb.types import PromptType

    from medteb.evaluation.runner import prepare_tasks
    from medteb.evaluation.search import document_loader

    ready, skipped = prepare_tasks(tasks, data_dir, eval_splits, on_progress)
    outcomes = [EncodedTask(o.name, skipped=o.skipped) for o in skipped]
    with_corpus = []
    for task in ready:
        if task.metadata.type not in ("Retrieval", "Reranking"):
            outcomes.append(EncodedTask(task.metadata.name, skipped=(
                f"a {task.metadata.type} task has no documents")))
        else:
            with_corpus.append(task)
    if not with_corpus:
        raise DataUnavailableError("no task with documents to encode: " + "; ".join(
            f"{o.task}: {o.skipped}" for o in outcomes))
    if ray is not None:
        from medteb.evaluation.ray_encode import encode_tasks_on_ray

        return outcomes + [EncodedTask(*row) for row in encode_tasks_on_ray(
            spec, with_corpus, ray, batch_size, show_progress, on_progress)]
    encoder = spec.load(document_only=True)
    store = encoder.store
    for task in with_corpus:
        for subset, splits in task.dataset.items():
            for split in task.eval_splits:
                if split not in splits:
                    continue
                corpus = splits[split]["corpus"]
                on_progress(f"{task.metadata.name} ({split}): {len(corpus)} documents")
                before = store.stats.encoded if store else 0
                encoder.encode(
                    document_loader(corpus, task.metadata, batch_size),
                    task_metadata=task.metadata, hf_split=split, hf_subset=subset,
                    prompt_type=PromptType.document, batch_size=batch_size,
                    show_progress_bar=show_progress)
                encoded = (store.stats.encoded if store else len(corpus)) - before
                outcomes.append(EncodedTask(task.metadata.name, split, len(corpus), encoded))
    return outcomes
