"""An asymmetric retriever for mteb: a small query encoder and a large document encoder.

Queries (mteb's ``PromptType.query``) go only to the query side and documents only to the
document side. Both sides' vectors are Matryoshka-truncated to ``truncate_dim`` (if given) and
L2-normalised, so the pair scores with cosine similarity. Document vectors go through a
:class:`~medteb.models.document_store.DocumentStore`: encoded once, re-used by every later run
with any
query encoder, or — in store-only mode — never computed here at all.

Example:
    >>> spec = AsymmetricSpec(query=SideConfig("BAAI/bge-small-zh-v1.5", pooling="cls"),
    ...                       document=SideConfig("Qwen/Qwen3-Embedding-4B"),
    ...                       truncate_dim=512)                       # doctest: +SKIP
    >>> mteb.evaluate(spec.load(), mteb.get_task("MedTEB-Retrieval"))  # doctest: +SKIP
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

import numpy as np
from mteb.models.abs_encoder import AbsEncoder
from mteb.models.model_meta import ModelMeta, ScoringFunction
from mteb.types import PromptType

from medteb._vectors import l2_normalise
from medteb.errors import MedtebError
from medteb.models.document_store import (
    DocumentStore,
    DocumentStoreError,
    EncoderIdentity,
    EntryKey,
    content_key,
    default_store_root,
)
from medteb.models.fingerprint import weights_fingerprint
from medteb.models.kinds import check_side, kind_of, load_side
from medteb.models.names import slug
from medteb.models.sides import (
    DEFAULT_DOCUMENT_TEMPLATE,
    DEFAULT_QUERY_TEMPLATE,
    EncodeContext,
    Side,
    SideConfig,
    resolve_pooling,
    side_identity,
)

if TYPE_CHECKING:
    from mteb.abstasks.task_metadata import TaskMetadata
    from mteb.types import Array, BatchedInput
    from torch.utils.data import DataLoader

    from medteb.models.sides import ServedSide

logger = logging.getLogger(__name__)

STS_SIDES = ("query", "document")


class DimensionMismatchError(MedtebError, ValueError):
    """The two sides' vectors cannot be compared (different or too small dimensions)."""


@dataclass(frozen=True)
class AsymmetricSpec:
    """Everything that defines an asymmetric pair; :meth:`load` builds the encoder.

    Attributes:
        query: the query side (live queries, and STS sentences by default).
        document: the document side (encoded offline, stored).
        truncate_dim: keep the first N dimensions of both sides (Matryoshka), then L2-normalise.
        name: the name results are filed under; default ``asym/<query>+<document>``.
        query_template: how a query is presented: ``{text}`` is the query, ``{instruction}`` the
            task's instruction. The default, ``"{text}"``, presents it as it is (a side loaded
            as under ``-m`` still adds the model's own prompts);
            :data:`~medteb.models.sides.PAPER_QUERY_TEMPLATE` is the paper's Table 8.
        document_template: the same for documents; by default documents get no instruction.
        sts_side: which encoder embeds STS sentences (mteb passes no prompt type for STS); the
            default, ``query``, is the online path.
        store: the document store folder; None means :func:`default_store_root`.
        use_store: False encodes documents every time and stores nothing.
        store_only: never load the document model; every document vector must be in the store.
    """

    query: SideConfig
    document: SideConfig
    truncate_dim: int | None = None
    name: str | None = None
    query_template: str = DEFAULT_QUERY_TEMPLATE
    document_template: str = DEFAULT_DOCUMENT_TEMPLATE
    sts_side: Literal["query", "document"] = "query"
    store: str | Path | None = None
    use_store: bool = True
    store_only: bool = False

    def check(self) -> None:
        """Raise :class:`MedtebError` for settings that can never work (nothing is loaded)."""
        check_side(self.query, "query")
        if not self.store_only:
            check_side(self.document, "document")
        for label, template in (("query", self.query_template),
                                ("document", self.document_template)):
            if "{text}" not in template:
                raise MedtebError(f"the {label} template {template!r} has no {{text}} "
                                  "placeholder for the text itself")
        if self.sts_side not in STS_SIDES:
            raise MedtebError(f"unknown STS side {self.sts_side!r}; choose query or document")
        if self.truncate_dim is not None and self.truncate_dim < 1:
            raise DimensionMismatchError(f"--truncate-dim must be positive, got "
                                         f"{self.truncate_dim}")
        if self.store_only and not self.use_store:
            raise MedtebError("store-only mode needs the document store; do not disable it")
        if self.name is not None and "/" not in self.name:
            raise MedtebError(f"model name {self.name!r} must look like 'organisation/name'")

    def with_device(self, device: str | None) -> AsymmetricSpec:
        """This spec with ``device`` on each side that names none."""
        if device is None:
            return self
        return replace(self, query=replace(self.query, device=self.query.device or device),
                       document=replace(self.document,
                                        device=self.document.device or device))

    def load_on(self, device: str | None) -> AsymmetricEncoder:
        """:meth:`load` with ``device`` on each side that names none (a
        :class:`~medteb.models.kinds.ModelSpec`, as the runner loads it)."""
        return self.with_device(device).load()

    def load(self, document_only: bool = False) -> AsymmetricEncoder:
        """Load both sides (only the query side in store-only mode) and check their dimensions.

        Args:
            document_only: load only the document side (``medteb encode-documents``).

        Raises:
            UnknownModelError: a model path is missing or a model cannot be loaded.
            PoolingError: an unknown pooling, or last-token pooling without an EOS token.
            DimensionMismatchError: the sides' dimensions differ after truncation.
            DocumentStoreError: store-only mode finds no (or several) matching stored encoders.
        """
        self.check()
        if document_only and self.store_only:  # before anything is loaded
            raise MedtebError("store-only mode does not load the document model, so it cannot "
                              "encode documents")
        if self.store_only and kind_of(self.document.model).served:
            from medteb.models.served.side import stored_only_error

            raise stored_only_error(self.document.model)
        store = DocumentStore(Path(self.store) if self.store else default_store_root())
        if self.store_only:
            identity = _stored_identity(store, self.document)
            _check_dimensions(identity.dim, identity.dim, self.truncate_dim, check_query=False)
            query = load_side(self.query, "query")
            return AsymmetricEncoder(self, query, None, identity, store)
        query = None if document_only else load_side(self.query, "query")
        document = load_side(self.document, "document")
        served = kind_of(self.document.model).served  # keeps its own cache: no second copy
        return AsymmetricEncoder(self, query, document,
                                 side_identity(self.document, document),
                                 store if self.use_store and not served else None)


def _stored_identity(store: DocumentStore, config: SideConfig) -> EncoderIdentity:
    """The stored encoder store-only mode uses: the one that matches ``config`` exactly.

    A document model folder that is present is fingerprinted, so only vectors of exactly its
    weights are used; vectors of an older revision of the same folder are refused, not re-used.
    """
    pooling = resolve_pooling(config)
    revision = config.revision
    folder = Path(config.model).expanduser()
    if revision is None and config.is_local and folder.is_dir():
        revision = weights_fingerprint(folder.resolve())
    matches = store.find_encoders(name=config.name, revision=revision, pooling=pooling,
                                  max_length=config.max_length, dtype=config.dtype)
    wanted = (f"{config.name} (pooling {pooling or 'any'}, max length "
              f"{config.max_length or 'any'}, {config.dtype}"
              f"{', revision ' + revision if revision else ''})")
    if not matches:
        same_name = store.find_encoders(name=config.name)
        stored = sorted({f"{e.name} (revision {e.revision}, {e.pooling})"
                         for e in same_name or store.find_encoders()})
        changed = (f"; {folder} is now revision {revision}: its weights changed since the "
                   "vectors were stored, encode them again"
                   if same_name and revision and config.revision is None else "")
        raise DocumentStoreError(
            f"store-only mode: {store.root} holds no document vectors from {wanted}; stored "
            f"encoders: {', '.join(stored) or 'none'}{changed}. Run `medteb encode-documents` "
            "first")
    if len(matches) > 1:
        listed = "; ".join(f"revision {m.revision}, {m.pooling}" for m in matches)
        raise DocumentStoreError(
            f"store-only mode: several stored encoders match {wanted} ({listed}); choose one "
            "with --document-revision or --document-pooling")
    return matches[0]


def _check_dimensions(query_dim: int, document_dim: int, truncate_dim: int | None,
                      check_query: bool = True) -> int:
    if truncate_dim is not None:
        for side, dim in (("query", query_dim), ("document", document_dim)):
            if (check_query or side == "document") and truncate_dim > dim:
                raise DimensionMismatchError(
                    f"--truncate-dim {truncate_dim} exceeds the {side} encoder's dimension "
                    f"{dim}; Matryoshka truncation can only shorten vectors")
        return truncate_dim
    if check_query and query_dim != document_dim:
        raise DimensionMismatchError(
            f"the query encoder gives {query_dim}-d vectors and the document encoder "
            f"{document_dim}-d; pass --truncate-dim {min(query_dim, document_dim)} to truncate "
            "both (Matryoshka) to a common dimension")
    return query_dim


def _split_template(template: str, instruction: str) -> tuple[str, str]:
    before, after = template.split("{text}", 1)
    return (before.replace("{instruction}", instruction),
            after.replace("{instruction}", instruction))


def _normalise(vectors: np.ndarray, dim: int) -> np.ndarray:
    """Matryoshka truncation to ``dim``, then L2 normalisation."""
    return l2_normalise(vectors[:, :dim])


@dataclass
class _Counts:
    query_texts: int = 0
    document_texts: int = 0
    calls: list[tuple[str, int]] = field(default_factory=list)


class AsymmetricEncoder(AbsEncoder):
    """mteb ``EncoderProtocol`` over two encoders; build it with :meth:`AsymmetricSpec.load`."""

    def __init__(self, spec: AsymmetricSpec, query: Side | None, document: Side | None,
                 document_identity: EncoderIdentity, store: DocumentStore | None) -> None:
        self.spec, self.query_side, self.document_side = spec, query, document
        self.document_identity, self.store = document_identity, store
        query_dim = document_identity.dim if query is None else query.dim
        self.dim = _check_dimensions(query_dim, document_identity.dim, spec.truncate_dim)
        self.counts = _Counts()
        self.mteb_model_meta = None if query is None else self._meta(query)

    def run_notes(self) -> list[str]:
        """Lines for the run report: the document store's use, then each served side's."""
        notes = []
        if not kind_of(self.spec.document.model).served:  # a served side says it itself
            if self.store is None:
                notes.append(f"Documents: {self.counts.document_texts} encoded (document store "
                             "disabled)")
            else:
                notes.append(f"Documents: {self.store.stats.encoded} encoded, "
                             f"{self.store.stats.reused} re-used from the document store "
                             f"{self.store.root}")
        return notes + [line for _, side in self._served_sides() for line in side.run_notes()]

    def _served_sides(self) -> list[tuple[str, ServedSide]]:
        """(role, side) of each loaded side whose kind is served."""
        sides = ((role, side, config) for role, side, config in (
            ("query", self.query_side, self.spec.query),
            ("document", self.document_side, self.spec.document)))
        return [(role, cast("ServedSide", side)) for role, side, config in sides
                if side is not None and kind_of(config.model).served]

    def _meta(self, q: Side) -> ModelMeta:
        spec, d = self.spec, self.document_identity
        pair = {
            "query": {"model": spec.query.model, "name": spec.query.name,
                      "revision": q.revision, "pooling": q.pooling,
                      "max_length": q.max_length, "dtype": spec.query.dtype,
                      "dim": q.dim, "n_parameters": q.n_parameters},
            "document": {"model": spec.document.model, **d.to_dict()},
            "truncate_dim": spec.truncate_dim,
            "query_template": spec.query_template,
            "document_template": spec.document_template,
            "sts_side": spec.sts_side,
        }
        identity = {k: v for k, v in pair.items() if k not in ("query", "document")}
        identity["query"] = {k: v for k, v in pair["query"].items() if k != "model"}
        identity["document"] = d.to_dict()
        for role, side in self._served_sides():  # where, not what: beside the identity
            pair[role]["endpoint_host"] = side.endpoint_host
            pair[role]["n_parameters"] = None  # unknown here: `medteb submit --parameters`
        sizes = [pair[role]["n_parameters"] for role in ("query", "document")]
        n_parameters = None if None in sizes else sum(sizes)
        name = spec.name or (f"asym/{slug(spec.query.name)}"
                             f"+{slug(spec.document.name)}")
        uses_instructions = any("{instruction}" in t
                                for t in (spec.query_template, spec.document_template))
        return ModelMeta.create_empty(overwrites={
            "name": name,
            "revision": content_key(identity)[:12],
            "loader_kwargs": {"asymmetric": pair},
            "n_parameters": n_parameters,
            "memory_usage_mb": None if n_parameters is None else round(n_parameters * 4 / 2**20,
                                                                       2),
            "max_tokens": q.max_length or None,
            "embed_dim": self.dim,
            "open_weights": None,
            "framework": ["PyTorch"],
            "similarity_fn_name": ScoringFunction.COSINE,
            "use_instructions": uses_instructions,
            "model_type": ["dense"],
            "adapted_from": f"{spec.query.name} + {spec.document.name}",
        })

    def _side_for(self, prompt_type: PromptType | None) -> str:
        if prompt_type == PromptType.query:
            return "query"
        if prompt_type == PromptType.document:
            return "document"
        return self.spec.sts_side

    def _template_parts(self, template: str, task_metadata: TaskMetadata,
                        prompt_type: PromptType | None) -> tuple[str, str]:
        instruction = ""
        if "{instruction}" in template:
            instruction = self.get_instruction(task_metadata, prompt_type) or ""
        return _split_template(template, instruction)

    def split_query_template(self, task_metadata: TaskMetadata) -> tuple[str, str]:
        """What goes before and after each query of this task (instruction filled in)."""
        return self._template_parts(self.spec.query_template, task_metadata, PromptType.query)

    def _format(self, texts: list[str], template: str, task_metadata: TaskMetadata,
                prompt_type: PromptType | None) -> list[str]:
        before, after = self._template_parts(template, task_metadata, prompt_type)
        return [f"{before}{t}{after}" for t in texts]

    def document_texts(self, texts: list[str], task_metadata: TaskMetadata) -> list[str]:
        """Documents as the document encoder sees (and the store keys) them: template applied."""
        return self._format(texts, self.spec.document_template, task_metadata,
                            PromptType.document)

    def encode(self, inputs: DataLoader[BatchedInput], *, task_metadata: TaskMetadata,
               hf_split: str, hf_subset: str, prompt_type: PromptType | None = None,
               **kwargs: Any) -> Array:
        """Encode with the side that ``prompt_type`` selects; truncate and normalise."""
        texts = [text for batch in inputs for text in batch["text"]]
        side = self._side_for(prompt_type)
        show = bool(kwargs.get("show_progress_bar", True))
        if side == "query":
            if self.query_side is None:
                raise MedtebError("this encoder was loaded for documents only")
            formatted = self._format(texts, self.spec.query_template, task_metadata,
                                     prompt_type)
            self.counts.query_texts += len(formatted)
            self.counts.calls.append(("query", len(formatted)))
            batch_size = self.spec.query.batch_size or int(kwargs.get("batch_size", 32))
            raw = self.query_side.encode(
                formatted, batch_size, show, f"Encoding queries ({self.spec.query.name})",
                EncodeContext(task_metadata, hf_split, hf_subset, prompt_type))
        else:
            formatted = self._format(texts, self.spec.document_template, task_metadata,
                                     prompt_type)
            raw = self._encode_documents(formatted, task_metadata, hf_split, hf_subset,
                                         int(kwargs.get("batch_size", 32)), show, prompt_type)
        return _normalise(raw, self.dim)

    def _encode_documents(self, texts: list[str], task_metadata: TaskMetadata, hf_split: str,
                          hf_subset: str, batch_size: int, show: bool,
                          prompt_type: PromptType | None) -> np.ndarray:
        batch_size = self.spec.document.batch_size or batch_size
        document = self.document_side
        context = EncodeContext(task_metadata, hf_split, hf_subset, prompt_type)

        def encode(chunk: list[str]) -> np.ndarray:
            if document is None:
                raise DocumentStoreError("store-only mode cannot encode documents")
            self.counts.document_texts += len(chunk)
            self.counts.calls.append(("document", len(chunk)))
            return document.encode(chunk, batch_size, show,
                                   f"Encoding documents ({self.spec.document.name})", context)

        if self.store is None:
            return encode(texts)
        entry = EntryKey(task=task_metadata.name, split=hf_split, subset=hf_subset,
                         dataset_revision=str(task_metadata.revision))
        return self.store.get_or_encode(self.document_identity, entry, texts,
                                        None if document is None else encode)
