"""One side of an asymmetric pair: a model that turns texts into raw (unnormalised) vectors.

One policy (docs/asymmetric_models.md): by default (``pooling="auto"``) a side is loaded by the
same loader as ``medteb run -m`` (:func:`medteb.models.load_model`) and encodes through it, so a
side embeds exactly as that model does alone: its own pooling, its own prompts, its own maximum
length. A pair of one model with itself therefore scores exactly as the model alone.

An explicit pooling loads a plain transformers model and pools it MedTEB's way instead:

- ``cls``: the final hidden state of the first token (BERT-style query encoders);
- ``mean``: the attention-masked mean of the final hidden states;
- ``last-token``: the tokenizer's EOS token is appended (unless the tokenizer already ends every
  sequence with it) and its final hidden state is the embedding — how the MedTEB paper pools its
  decoder-only document encoder (Appendix G).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

import numpy as np

from medteb._vectors import require_finite
from medteb.errors import MedtebError, UnknownModelError
from medteb.models.document_store import EncoderIdentity
from medteb.models.fingerprint import weights_fingerprint
from medteb.models.names import local_model_name, looks_like_path

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from mteb.abstasks.task_metadata import TaskMetadata
    from mteb.types import PromptType

    from medteb.models.served.client import ApiConfig

logger = logging.getLogger(__name__)

POOLINGS = ("auto", "cls", "mean", "last-token")
DTYPES = ("float32", "float16", "bfloat16")
Role = Literal["query", "document"]
#: what ``auto`` resolves to: the model's own pooling, as ``medteb run -m`` loads it
MODEL_POOLING = "model"
#: the default presentation of a query: as it is (the model's own prompts still apply)
DEFAULT_QUERY_TEMPLATE = "{text}"
#: the paper's Table 8 presentation (``--paper-instructions``): the task's instruction first
PAPER_QUERY_TEMPLATE = "Instruct: {instruction}\nQuery: {text}"
DEFAULT_DOCUMENT_TEMPLATE = "{text}"
#: maximum input length of an explicitly pooled side when none is given (the paper's)
DEFAULT_MAX_LENGTH = 512


@dataclass(frozen=True)
class EncodeContext:
    """What mteb says about a batch to encode; a side loaded as under ``-m`` passes it on."""

    task_metadata: TaskMetadata
    hf_split: str
    hf_subset: str
    prompt_type: PromptType | None


class PoolingError(MedtebError, ValueError):
    """An unknown pooling, or a model that cannot be pooled the way asked."""


@dataclass(frozen=True)
class SideConfig:
    """How to load and run one side of an asymmetric pair.

    Attributes:
        model: a local model folder or a Hugging Face model name.
        pooling: ``auto`` (the model as ``medteb run -m`` loads it), ``cls``, ``mean`` or
            ``last-token`` (see the module docstring).
        max_length: inputs are truncated to this many tokens; None means the model's own
            (``auto``) or 512, the paper's (an explicit pooling).
        batch_size: encoding batch size; None uses the batch size mteb passes.
        device: torch device; None picks CUDA when available.
        dtype: weights' dtype: ``float32``, ``float16`` or ``bfloat16``.
        revision: recorded revision; None means a fingerprint of local weights, or the Hub commit.
        api: for a served model (``api/<name>``), its :class:`~medteb.models.served.side.ApiConfig`.
    """

    model: str
    pooling: str = "auto"
    max_length: int | None = None
    batch_size: int | None = None
    device: str | None = None
    dtype: str = "float32"
    revision: str | None = None
    api: ApiConfig | None = None

    @property
    def is_local(self) -> bool:
        return looks_like_path(self.model)

    @property
    def name(self) -> str:
        """The name recorded in results: ``local/<folder>`` for a path, else the Hub name."""
        if self.is_local:
            return local_model_name(self.model)
        return self.model


class Side(Protocol):
    """A loaded side: texts in, raw float32 vectors out (no truncation, no normalisation).

    Sides are loaded through their model's kind (:func:`medteb.models.kinds.load_side`).
    """

    pooling: str
    revision: str
    n_parameters: int
    dim: int
    max_length: int

    def encode(self, texts: Sequence[str], batch_size: int, show_progress: bool,
               desc: str, context: EncodeContext | None = None) -> np.ndarray: ...


class ServedSide(Side, Protocol):
    """A side of a served kind (:attr:`medteb.models.kinds.ModelKind.served`)."""

    #: where it is reached: recorded beside its name, never part of its identity
    endpoint_host: str

    def run_notes(self) -> list[str]:
        """Lines for the run report: texts from its cache, texts requested."""
        ...

    def encode_uncached(self, texts: Sequence[str], batch_size: int) -> np.ndarray:
        """Every text requested, nothing cached (``medteb speed``: latency as the client sees
        it)."""
        ...


def check_weights_side(config: SideConfig, role: Role) -> None:
    """Raise :class:`MedtebError` for settings of a side with weights that can never work."""
    if config.pooling not in POOLINGS:
        raise PoolingError(f"unknown {role} pooling {config.pooling!r}; choose one of "
                           f"{', '.join(POOLINGS)}")
    if config.dtype not in DTYPES:
        raise MedtebError(f"unknown {role} dtype {config.dtype!r}; choose one of "
                          f"{', '.join(DTYPES)}")
    if config.max_length is not None and config.max_length < 2:
        raise MedtebError(f"{role} max length must be at least 2 tokens, got "
                          f"{config.max_length}")
    if config.batch_size is not None and config.batch_size < 1:
        raise MedtebError(f"{role} batch size must be positive, got {config.batch_size}")
    if config.is_local and not Path(config.model).expanduser().is_dir():
        raise UnknownModelError(f"{role} model path {config.model!r} does not exist or is not "
                                "a directory")


def side_identity(config: SideConfig, side: Side) -> EncoderIdentity:
    """What a loaded document side's stored vectors are filed under (its encoder identity)."""
    return EncoderIdentity(name=config.name, revision=side.revision, pooling=side.pooling,
                           max_length=side.max_length, dtype=config.dtype, dim=int(side.dim),
                           n_parameters=side.n_parameters)


def resolve_pooling(config: SideConfig) -> str:
    """``cls``/``mean``/``last-token``, or :data:`MODEL_POOLING` (the model's own) for ``auto``."""
    return MODEL_POOLING if config.pooling == "auto" else config.pooling


def _torch_dtype(name: str) -> Any:
    import torch

    return {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}[name]


def default_device(device: str | None) -> str:
    """``device``, else ``cuda`` when available, else ``cpu``."""
    import torch

    return device or ("cuda" if torch.cuda.is_available() else "cpu")


def _revision(config: SideConfig, loaded: Any) -> str:
    if config.revision:
        return config.revision
    if config.is_local:
        return weights_fingerprint(Path(config.model).expanduser().resolve())
    return str(getattr(getattr(loaded, "config", None), "_commit_hash", None) or "main")


def _load_error(config: SideConfig, role: Role, err: Exception) -> UnknownModelError:
    where = "folder" if config.is_local else "Hub model"
    return UnknownModelError(f"cannot load {role} model {config.model!r} ({where}): "
                             f"{type(err).__name__}: {err}")


class ModelSide:
    """A side loaded as ``medteb run -m`` loads the model, encoding through the same mteb model.

    Texts reach the model's own ``encode`` with the task, split and prompt type of the call, so
    its pooling, prompts and normalisation are exactly those of the model alone.
    """

    pooling = MODEL_POOLING

    def __init__(self, config: SideConfig, role: Role, load_model: Callable[..., Any]) -> None:
        """``load_model`` is the ``-m`` loader of the model's kind (name, revision, device)."""
        self.config = config
        kwargs: dict[str, Any] = {}
        if config.dtype != "float32":
            kwargs["model_kwargs"] = {"dtype": _torch_dtype(config.dtype)}
        try:
            self.model = load_model(config.model, config.revision, default_device(config.device),
                                    **kwargs)
        except Exception as err:  # UnknownModelError too: say which side
            raise _load_error(config, role, err) from err
        inner = getattr(self.model, "model", None)
        if config.max_length is not None and hasattr(inner, "max_seq_length"):
            inner.max_seq_length = config.max_length
        meta = self.model.mteb_model_meta
        self.revision = config.revision or str(meta.revision)
        self.max_length = int(getattr(inner, "max_seq_length", None) or meta.max_tokens or 0)
        parameters = getattr(inner, "parameters", None)
        self.n_parameters = int(meta.n_parameters or (
            sum(p.numel() for p in parameters()) if parameters else 0))
        dimension = getattr(inner, "get_embedding_dimension", None) or getattr(
            inner, "get_sentence_embedding_dimension", None)  # ST < 6 has only the second
        self.dim = int((dimension() if dimension else None) or meta.embed_dim or 0)
        if self.dim < 1:
            raise UnknownModelError(f"{role} model {config.model!r}: its embedding dimension "
                                    f"is unknown; choose an explicit --{role}-pooling")

    def encode(self, texts: Sequence[str], batch_size: int, show_progress: bool,
               desc: str, context: EncodeContext | None = None) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if context is None:
            raise MedtebError(f"{self.config.model}: a model side encodes only within a task")
        from datasets import Dataset
        from torch.utils.data import DataLoader

        loader = DataLoader(Dataset.from_dict({"text": list(texts)}), batch_size=batch_size,
                            collate_fn=lambda rows: {"text": [row["text"] for row in rows]})
        vectors = self.model.encode(loader, task_metadata=context.task_metadata,
                                    hf_split=context.hf_split, hf_subset=context.hf_subset,
                                    prompt_type=context.prompt_type, batch_size=batch_size,
                                    show_progress_bar=show_progress)
        if hasattr(vectors, "detach"):
            vectors = vectors.detach().float().cpu().numpy()
        return np.asarray(vectors, dtype=np.float32)


class PooledSide:
    """A plain transformers model with an explicit pooling (``cls``, ``mean``, ``last-token``)."""

    def __init__(self, config: SideConfig, role: Role, pooling: str) -> None:
        from transformers import AutoModel, AutoTokenizer

        self.config, self.pooling = config, pooling
        self.max_length = config.max_length or DEFAULT_MAX_LENGTH
        source = str(Path(config.model).expanduser()) if config.is_local else config.model
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(source,
                                                           local_files_only=config.is_local)
            self.model = AutoModel.from_pretrained(source, local_files_only=config.is_local,
                                                   dtype=_torch_dtype(config.dtype))
        except Exception as err:
            raise _load_error(config, role, err) from err
        if pooling == "last-token" and self.tokenizer.eos_token_id is None:
            raise PoolingError(
                f"{role} model {config.model!r}: last-token pooling appends the tokenizer's EOS "
                "token, but this tokenizer defines none; set eos_token in its "
                "tokenizer_config.json or choose --{role}-pooling cls or mean"
            )
        if self.tokenizer.pad_token_id is None:  # decoder-only tokenizers often have no PAD
            self.tokenizer.pad_token = self.tokenizer.eos_token or self.tokenizer.unk_token
        self.tokenizer.padding_side = "right"
        self.device = default_device(config.device)
        self.model.to(self.device).eval()
        self.revision = _revision(config, self.model)
        self.n_parameters = sum(p.numel() for p in self.model.parameters())
        self.dim = int(self.model.config.hidden_size)

    def tokenize(self, texts: Sequence[str]) -> dict[str, Any]:
        """Tokenize a batch as it will be encoded: truncated, EOS appended for last-token, padded.

        Returns:
            ``input_ids`` and ``attention_mask`` tensors (right-padded).
        """
        return tokenize_for_pooling(self.tokenizer, texts, self.pooling, self.max_length)

    def encode(self, texts: Sequence[str], batch_size: int, show_progress: bool,
               desc: str, context: EncodeContext | None = None) -> np.ndarray:
        import torch
        from tqdm.auto import tqdm

        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))  # less padding
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        with torch.inference_mode():
            for start in tqdm(range(0, len(order), batch_size), desc=desc,
                              disable=not show_progress, unit="batch"):
                rows = order[start: start + batch_size]
                batch = {k: v.to(self.device)
                         for k, v in self.tokenize([texts[i] for i in rows]).items()}
                hidden = self.model(**batch).last_hidden_state
                out[rows] = self._pool(hidden, batch["attention_mask"]).float().cpu().numpy()
        return require_finite(out, f"{self.config.name} ({self.pooling} pooling)")

    def _pool(self, hidden: Any, mask: Any) -> Any:
        return pool_hidden(hidden, mask, self.pooling)


def tokenize_for_pooling(tokenizer: Any, texts: Sequence[str], pooling: str,
                         max_length: int) -> dict[str, Any]:
    """Tokenize a batch for ``pooling``: truncated, EOS appended for last-token, right-padded.

    Shared by encoding (:class:`PooledSide`) and training (:mod:`medteb.train`), so a trained
    encoder sees its inputs exactly as ``medteb run`` will present them.

    Returns:
        ``input_ids`` and ``attention_mask`` tensors (right-padded).
    """
    if pooling != "last-token":
        return tokenizer(list(texts), truncation=True, max_length=max_length, padding=True,
                         return_tensors="pt")
    eos = tokenizer.eos_token_id
    encoded = tokenizer(list(texts), truncation=True, max_length=max_length, padding=False)
    ids = []
    for row in encoded["input_ids"]:
        if not row or row[-1] != eos:  # the tokenizer did not end the sequence with EOS
            row = [*row[: max_length - 1], eos]
        ids.append(row)
    return tokenizer.pad({"input_ids": ids}, padding=True, return_tensors="pt")


def pool_hidden(hidden: Any, mask: Any, pooling: str) -> Any:
    """Pool final hidden states ``(batch, tokens, dim)`` of right-padded inputs to ``(batch, dim)``.

    ``cls``: the first token; ``mean``: the masked mean; ``last-token``: the last real token
    (the appended EOS).
    """
    import torch

    if pooling == "cls":
        return hidden[:, 0]
    if pooling == "mean":
        weights = mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
    last = mask.sum(1) - 1  # right padding: the appended EOS is the last real token
    return hidden[torch.arange(hidden.shape[0], device=hidden.device), last]
