"""Trainable encoders: texts in, unnormalised embedding tensors out (with gradients).

- :class:`QueryEncoder`: a sentence-transformers model (a plain transformers folder is wrapped
  with CLS or mean pooling). When its width differs from the target dimension a linear
  projection (a sentence-transformers ``Dense`` layer, no activation) is appended, so the saved
  folder outputs the document encoder's truncated dimension and ``medteb run --query-model``
  loads it with pooling ``auto``.
- :class:`DocumentEncoder`: a plain transformers decoder-only model with LoRA adapters
  (``peft``) and last-token pooling with EOS appended, tokenised and pooled by the very
  functions ``medteb run`` uses (:func:`medteb.models.sides.tokenize_for_pooling`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from medteb.errors import TrainingError, UnknownModelError
from medteb.models.names import looks_like_path
from medteb.models.sides import pool_hidden, tokenize_for_pooling

if TYPE_CHECKING:
    from collections.abc import Sequence

    from torch import Tensor


def _source(model: str) -> tuple[str, bool]:
    local = looks_like_path(model)
    if local and not Path(model).expanduser().is_dir():
        raise UnknownModelError(f"model path {model!r} does not exist or is not a directory")
    return (str(Path(model).expanduser()) if local else model), local


def _move(batch: dict[str, Any], device: Any) -> dict[str, Any]:
    return {k: v.to(device) if hasattr(v, "to") else v for k, v in batch.items()}


def st_modules() -> tuple[Any, Any, Any]:
    """sentence-transformers' ``Dense``, ``Pooling`` and ``Transformer`` (ST 6 moved them)."""
    try:
        from sentence_transformers.sentence_transformer.modules import (
            Dense,
            Pooling,
            Transformer,
        )
    except ImportError:  # sentence-transformers < 6
        from sentence_transformers.models import Dense, Pooling, Transformer
    return Dense, Pooling, Transformer


def _width(model: Any) -> int:
    for name in ("get_embedding_dimension",  # sentence-transformers >= 6
                 "get_sentence_embedding_dimension", "get_word_embedding_dimension"):
        get = getattr(model, name, None)
        if get is not None:
            return int(get())
    raise TrainingError(f"cannot tell the output width of {type(model).__name__}")


class QueryEncoder:
    """The query side being trained; ``module`` is the ``SentenceTransformer`` (an nn.Module)."""

    def __init__(self, module: Any, projected: bool) -> None:
        self.module, self.projected = module, projected

    @classmethod
    def load(cls, model: str, dim: int | None = None, pooling: str = "cls",
             max_length: int = 512, device: str = "cpu") -> QueryEncoder:
        """Load a query encoder; append a ``dim``-wide linear projection if its width differs.

        Args:
            model: a sentence-transformers folder (its pooling is kept), a plain transformers
                folder or a Hub name (pooled with ``pooling``: ``cls`` or ``mean``).
            dim: the output dimension wanted (the document encoder's Matryoshka dimension).
        """
        import torch
        from sentence_transformers import SentenceTransformer

        Dense, Pooling, Transformer = st_modules()
        if pooling not in ("cls", "mean"):
            raise TrainingError(f"query pooling must be cls or mean, got {pooling!r}")
        source, local = _source(model)
        try:
            if local and (Path(source) / "modules.json").is_file():
                st = SentenceTransformer(source, device=device, local_files_only=True)
            else:
                transformer = Transformer(source, max_seq_length=max_length)
                width = _width(transformer)
                st = SentenceTransformer(modules=[transformer, Pooling(width, pooling)],
                                         device=device)
        except Exception as err:
            raise UnknownModelError(f"cannot load query model {model!r}: "
                                    f"{type(err).__name__}: {err}") from err
        st.max_seq_length = max_length
        width = _width(st)
        projected = dim is not None and dim != width
        if projected:
            st.append(Dense(width, dim, bias=True, activation_function=torch.nn.Identity()))
            st.to(device)
        return cls(st, projected)

    @property
    def dim(self) -> int:
        return _width(self.module)

    def enable_gradient_checkpointing(self) -> None:
        auto = getattr(self.module[0], "auto_model", None)
        if auto is not None and getattr(auto, "supports_gradient_checkpointing", False):
            auto.gradient_checkpointing_enable(
                gradient_checkpointing_kwargs={"use_reentrant": False})

    def __call__(self, texts: Sequence[str]) -> Tensor:
        device = next(self.module.parameters()).device
        prepare = getattr(self.module, "preprocess", None) or self.module.tokenize  # ST < 6
        features = _move(prepare(list(texts)), device)
        return self.module(features)["sentence_embedding"]

    def save(self, path: str | Path) -> None:
        self.module.save(str(path))


class DocumentEncoder:
    """The document side: decoder-only model, optional LoRA, last-token pooling (EOS appended)."""

    def __init__(self, model: Any, tokenizer: Any, max_length: int) -> None:
        self.model, self.tokenizer, self.max_length = model, tokenizer, max_length

    @classmethod
    def load(cls, model: str, max_length: int = 512, device: str = "cpu",
             dtype: str = "float32") -> DocumentEncoder:
        """Load a plain transformers model for last-token pooling.

        Raises:
            UnknownModelError: the model cannot be loaded.
            TrainingError: its tokenizer defines no EOS token.
        """
        from transformers import AutoModel, AutoTokenizer

        from medteb.models.sides import _torch_dtype

        source, local = _source(model)
        try:
            tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=local)
            loaded = AutoModel.from_pretrained(source, local_files_only=local,
                                               dtype=_torch_dtype(dtype))
        except Exception as err:
            raise UnknownModelError(f"cannot load document model {model!r}: "
                                    f"{type(err).__name__}: {err}") from err
        if tokenizer.eos_token_id is None:
            raise TrainingError(f"document model {model!r}: last-token pooling appends the "
                                "tokenizer's EOS token, but this tokenizer defines none; set "
                                "eos_token in its tokenizer_config.json")
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token
        tokenizer.padding_side = "right"
        return cls(loaded.to(device), tokenizer, max_length)

    @property
    def dim(self) -> int:
        return int(self.model.config.hidden_size)

    @property
    def has_lora(self) -> bool:
        return hasattr(self.model, "merge_and_unload")

    def add_lora(self, rank: int = 32, alpha: int = 64, dropout: float = 0.05,
                 target_modules: str | Sequence[str] = "all-linear") -> None:
        """Freeze the base weights and add trainable LoRA adapters (``peft``)."""
        from peft import LoraConfig, get_peft_model

        if self.has_lora:
            raise TrainingError("the document encoder already has LoRA adapters; merge them "
                                "first")
        targets = target_modules if isinstance(target_modules, str) else list(target_modules)
        config = LoraConfig(r=rank, lora_alpha=alpha, lora_dropout=dropout,
                            target_modules=targets, bias="none")
        self.model = get_peft_model(self.model, config)

    def merge_lora(self) -> None:
        """Merge the LoRA adapters into the base weights (a plain transformers model again)."""
        if self.has_lora:
            self.model = self.model.merge_and_unload()

    def freeze(self) -> None:
        for parameter in self.model.parameters():
            parameter.requires_grad_(False)
        self.model.eval()

    def enable_gradient_checkpointing(self) -> None:
        base = self.model.get_base_model() if self.has_lora else self.model
        if getattr(base, "supports_gradient_checkpointing", False):
            base.gradient_checkpointing_enable(
                gradient_checkpointing_kwargs={"use_reentrant": False})

    def __call__(self, texts: Sequence[str]) -> Tensor:
        device = next(self.model.parameters()).device
        batch = _move(tokenize_for_pooling(self.tokenizer, texts, "last-token",
                                           self.max_length), device)
        hidden = self.model(**batch).last_hidden_state
        return pool_hidden(hidden, batch["attention_mask"], "last-token")

    def save(self, path: str | Path) -> None:
        """Save as a plain transformers folder (LoRA merged first)."""
        self.merge_lora()
        self.model.save_pretrained(str(path))
        self.tokenizer.save_pretrained(str(path))
