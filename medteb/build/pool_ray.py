"""Dense retrievers of ``medteb build pool --ray``: the corpus encoded by Ray workers.

For a large corpus the document side dominates a dense retriever's cost. With ``--ray``, each
dense retriever's corpus goes through :class:`~medteb.evaluation.ray_encode.RayEncoderPool`
(each worker loads the retriever once and encodes shards) into a document store, and the search
itself runs here as without Ray, its document vectors read from that store. Queries are encoded
here (they are few). The store makes the stage resumable: an interrupted pool re-encodes only
the documents it had not stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from pathlib import Path

    import numpy as np

    from medteb.evaluation.ray_encode import RaySettings
    from medteb.evaluation.ray_worker import LoadedEncoder
    from medteb.models.document_store import DocumentStore, EncoderIdentity, EntryKey


def model_identity(model: Any, dim: int = 0) -> EncoderIdentity:
    """The store identity of a loaded mteb model: its recorded name and revision."""
    from medteb.models.document_store import EncoderIdentity

    meta = model.mteb_model_meta
    return EncoderIdentity(name=str(meta.name), revision=str(meta.revision), pooling="mteb",
                           max_length=int(meta.max_tokens or 0), dtype="as-loaded",
                           dim=dim or int(meta.embed_dim or 0),
                           n_parameters=int(meta.n_parameters or 0))


@dataclass(frozen=True)
class MtebModelRecipe:
    """Any model ``medteb run`` accepts, encoding documents as ``build pool`` does."""

    name: str
    batch_size: int

    def load(self, device: str | None) -> LoadedEncoder:
        from medteb.build.pool import encode_texts
        from medteb.evaluation.ray_worker import FunctionEncoder
        from medteb.models import load_model

        model = load_model(self.name, device=device)

        def encode(texts: list[str], context: Any) -> np.ndarray:  # the pool's task: no context
            return encode_texts(model, texts, as_queries=False, batch_size=self.batch_size)

        return FunctionEncoder(model_identity(model), encode)


class StoredDocumentsModel:
    """An mteb encoder whose document vectors come from a store; everything else is the model."""

    def __init__(self, model: Any, store: DocumentStore, identity: EncoderIdentity,
                 entry: EntryKey) -> None:
        self.model, self.store, self.identity, self.entry = model, store, identity, entry

    def __getattr__(self, name: str) -> Any:
        return getattr(self.model, name)

    def encode(self, inputs: Any, *, prompt_type: Any = None, **kwargs: Any) -> Any:
        from mteb.types import PromptType

        if prompt_type != PromptType.document:
            return self.model.encode(inputs, prompt_type=prompt_type, **kwargs)
        texts = [text for batch in inputs for text in batch["text"]]
        return self.store.get_or_encode(self.identity, self.entry, texts, None)


def retrieve_with_ray(model: Any, name: str, queries: Mapping[str, Mapping[str, Any]],
                      corpus: Mapping[str, Mapping[str, Any]], top_k: int, *,
                      settings: RaySettings, store_root: str | Path, batch_size: int = 32,
                      min_score: float | None = None, show_progress: bool = True,
                      on_progress: Callable[[str], None] = print) -> dict[str, list[str]]:
    """:func:`medteb.build.pool.retrieve` with the corpus encoded on Ray workers.

    Args:
        model: ``name`` loaded here (encodes the queries; its identity must match the workers').
        store_root: the document store folder (e.g. ``<work>/document_store``).

    Raises:
        RayEncodeError: the workers cannot load ``name`` or loaded another revision of it.
    """
    from medteb.build.pool import retrieval_metadata, retrieve
    from medteb.evaluation.ray_encode import (
        RayEncodeError,
        RayEncoderPool,
        ShardRequest,
    )
    from medteb.models.document_store import DocumentStore, EntryKey

    meta = retrieval_metadata()
    # the texts mteb's document loader gives the model: title and text joined, stripped
    texts = [f"{r.get('title') or ''} {r['text']}".strip() for r in corpus.values()]
    entry = EntryKey(task=meta.name, split="build-pool", subset="default",
                     dataset_revision=str(meta.revision))
    store = DocumentStore(store_root)
    here = model_identity(model)
    with RayEncoderPool(MtebModelRecipe(name, batch_size), settings, on_progress) as pool:
        if pool.identity.key != here.key:
            raise RayEncodeError(f"the Ray workers loaded {name} as {pool.identity} but this "
                                 f"process as {here}; give every node the same model files")
        pool.fill(store, [ShardRequest(entry, texts)], show_progress)
        identity = pool.identity
    return retrieve(StoredDocumentsModel(model, store, identity, entry), queries, corpus, top_k,
                    batch_size=batch_size, min_score=min_score)
