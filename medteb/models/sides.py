"""One side of an asymmetric pair: a model that turns texts into raw (unnormalised) vectors.

A side is either a sentence-transformers model, which keeps its own pooling, or a plain
transformers model pooled explicitly:

- ``cls``: the final hidden state of the first token (BERT-style query encoders);
- ``mean``: the attention-masked mean of the final hidden states;
- ``last-token``: the tokenizer's EOS token is appended (unless the tokenizer already ends every
  sequence with it) and its final hidden state is the embedding — how the MedTEB paper pools its
  decoder-only document encoder (Appendix G).

``auto`` picks sentence-transformers when the model folder has ``modules.json`` and otherwise
the role's default: ``cls`` for queries, ``last-token`` for documents.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

import numpy as np

from medteb.errors import MedtebError, UnknownModelError
from medteb.models import looks_like_path, model_slug, weights_fingerprint

if TYPE_CHECKING:
    from collections.abc import Sequence

logger = logging.getLogger(__name__)

POOLINGS = ("auto", "cls", "mean", "last-token")
DTYPES = ("float32", "float16", "bfloat16")
Role = Literal["query", "document"]
ROLE_DEFAULT_POOLING: dict[str, str] = {"query": "cls", "document": "last-token"}
#: how a query is presented: the task's instruction (paper Table 8) before it
DEFAULT_QUERY_TEMPLATE = "Instruct: {instruction}\nQuery: {text}"
DEFAULT_DOCUMENT_TEMPLATE = "{text}"


class PoolingError(MedtebError, ValueError):
    """An unknown pooling, or a model that cannot be pooled the way asked."""


@dataclass(frozen=True)
class SideConfig:
    """How to load and run one side of an asymmetric pair.

    Attributes:
        model: a local model folder or a Hugging Face model name.
        pooling: ``auto``, ``cls``, ``mean`` or ``last-token`` (see the module docstring).
        max_length: inputs are truncated to this many tokens (the paper uses 512).
        batch_size: encoding batch size; None uses the batch size mteb passes.
        device: torch device; None picks CUDA when available.
        dtype: weights' dtype: ``float32``, ``float16`` or ``bfloat16``.
        revision: recorded revision; None means a fingerprint of local weights, or the Hub commit.
        api: for a served model (``api/<name>``), its :class:`~medteb.models.api.ApiConfig`.
    """

    model: str
    pooling: str = "auto"
    max_length: int = 512
    batch_size: int | None = None
    device: str | None = None
    dtype: str = "float32"
    revision: str | None = None
    api: Any = None

    def check(self, role: Role) -> None:
        """Raise :class:`MedtebError` for settings that can never work (before loading)."""
        if self.model.startswith("api/"):  # a served model: no weights, pooling or dtype
            from medteb.models.api import check_side

            return check_side(self, role)
        if self.pooling not in POOLINGS:
            raise PoolingError(f"unknown {role} pooling {self.pooling!r}; choose one of "
                               f"{', '.join(POOLINGS)}")
        if self.dtype not in DTYPES:
            raise MedtebError(f"unknown {role} dtype {self.dtype!r}; choose one of "
                              f"{', '.join(DTYPES)}")
        if self.max_length < 2:
            raise MedtebError(f"{role} max length must be at least 2 tokens, got "
                              f"{self.max_length}")
        if self.batch_size is not None and self.batch_size < 1:
            raise MedtebError(f"{role} batch size must be positive, got {self.batch_size}")
        if looks_like_path(self.model) and not Path(self.model).expanduser().is_dir():
            raise UnknownModelError(f"{role} model path {self.model!r} does not exist or is not "
                                    "a directory")

    @property
    def is_local(self) -> bool:
        return looks_like_path(self.model)

    @property
    def name(self) -> str:
        """The name recorded in results: ``local/<folder>`` for a path, else the Hub name."""
        if self.is_local:
            return f"local/{model_slug(Path(self.model).expanduser().resolve().name)}"
        return self.model


class Side(Protocol):
    """A loaded side: texts in, raw float32 vectors out (no truncation, no normalisation)."""

    config: SideConfig
    pooling: str
    revision: str
    n_parameters: int
    dim: int

    def encode(self, texts: Sequence[str], batch_size: int, show_progress: bool,
               desc: str) -> np.ndarray: ...


def load_side(config: SideConfig, role: Role) -> Side:
    """Load one side, choosing the implementation from its pooling (see the module docstring).

    Raises:
        UnknownModelError: the model path is missing or holds no model, or the Hub name cannot be
            loaded.
        PoolingError: unknown pooling, or last-token pooling with a tokenizer without EOS.
    """
    config.check(role)
    if config.model.startswith("api/"):
        from medteb.models.api import ApiSide

        return ApiSide(config, role)
    pooling = resolve_pooling(config, role)
    if pooling == "sentence-transformers":
        return SentenceTransformerSide(config, role)
    return PooledSide(config, role, pooling)


def resolve_pooling(config: SideConfig, role: Role) -> str:
    """``cls``/``mean``/``last-token``, or ``sentence-transformers`` for ``auto`` on an ST model."""
    if config.pooling != "auto":
        return config.pooling
    if config.is_local:
        is_st = (Path(config.model).expanduser() / "modules.json").is_file()
    else:
        is_st = _hub_has_modules_json(config.model)
    return "sentence-transformers" if is_st else ROLE_DEFAULT_POOLING[role]


def _hub_has_modules_json(name: str) -> bool:
    from huggingface_hub import hf_hub_download

    try:
        hf_hub_download(name, "modules.json")
    except Exception:  # offline, missing file, unknown repo: all mean "not known to be ST"
        return False
    return True


def _torch_dtype(name: str) -> Any:
    import torch

    return {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}[name]


def _device(device: str | None) -> str:
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


class SentenceTransformerSide:
    """A sentence-transformers model; its own pooling (and normalisation, if any) applies."""

    pooling = "sentence-transformers"

    def __init__(self, config: SideConfig, role: Role) -> None:
        from sentence_transformers import SentenceTransformer

        self.config = config
        try:
            self.model = SentenceTransformer(
                str(Path(config.model).expanduser()) if config.is_local else config.model,
                device=_device(config.device), local_files_only=config.is_local,
                model_kwargs={"dtype": _torch_dtype(config.dtype)},
            )
        except Exception as err:
            raise _load_error(config, role, err) from err
        self.model.max_seq_length = config.max_length
        first = self.model[0]
        self.revision = _revision(config, getattr(first, "auto_model", None))
        self.n_parameters = sum(p.numel() for p in self.model.parameters())
        dimension = getattr(self.model, "get_embedding_dimension", None)
        dimension = dimension or self.model.get_sentence_embedding_dimension  # ST < 6
        self.dim = int(dimension())

    def encode(self, texts: Sequence[str], batch_size: int, show_progress: bool,
               desc: str) -> np.ndarray:
        vectors = self.model.encode(list(texts), batch_size=batch_size,
                                    show_progress_bar=show_progress, convert_to_numpy=True)
        return np.asarray(vectors, dtype=np.float32)


class PooledSide:
    """A plain transformers model with an explicit pooling (``cls``, ``mean``, ``last-token``)."""

    def __init__(self, config: SideConfig, role: Role, pooling: str) -> None:
        from transformers import AutoModel, AutoTokenizer

        self.config, self.pooling = config, pooling
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
        self.device = _device(config.device)
        self.model.to(self.device).eval()
        self.revision = _revision(config, self.model)
        self.n_parameters = sum(p.numel() for p in self.model.parameters())
        self.dim = int(self.model.config.hidden_size)

    def tokenize(self, texts: Sequence[str]) -> dict[str, Any]:
        """Tokenize a batch as it will be encoded: truncated, EOS appended for last-token, padded.

        Returns:
            ``input_ids`` and ``attention_mask`` tensors (right-padded).
        """
        return tokenize_for_pooling(self.tokenizer, texts, self.pooling, self.config.max_length)

    def encode(self, texts: Sequence[str], batch_size: int, show_progress: bool,
               desc: str) -> np.ndarray:
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
        return out

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
