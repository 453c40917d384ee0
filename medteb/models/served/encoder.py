"""``-m api/<model>`` as an mteb encoder: one served model for every text (see :mod:`.side`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mteb.models.abs_encoder import AbsEncoder
from mteb.models.model_meta import ModelMeta, ScoringFunction

from medteb._vectors import l2_normalise
from medteb.errors import MedtebError
from medteb.models.served.side import API_PREFIX, ApiConfig, ApiSide, api_identity, check_side

if TYPE_CHECKING:
    from mteb.abstasks.task_metadata import TaskMetadata
    from mteb.types import Array, BatchedInput, PromptType
    from torch.utils.data import DataLoader


@dataclass(frozen=True)
class ApiSpec:
    """``-m api/<model>``: one served model for queries, documents and STS alike.

    Attributes:
        model: the served model name (without ``api/``).
        api: how to reach the endpoint; None reads ``$MEDTEB_API_BASE``.
        name: the name results are filed under (default ``api/<model>``).
        batch_size: texts per request; None uses the batch size mteb passes (``--batch-size``).
    """

    model: str
    api: ApiConfig | None = None
    name: str | None = None
    batch_size: int | None = None

    def check(self) -> None:
        check_side(API_PREFIX + self.model, self.api, self.batch_size, "model")
        if self.name is not None and "/" not in self.name:
            raise MedtebError(f"model name {self.name!r} must look like 'organisation/name'")

    def load_on(self, device: str | None) -> ApiEncoder:
        """:meth:`load` (a :class:`~medteb.models.kinds.ModelSpec`): a served model runs where
        it is served, so ``device`` is not used."""
        return self.load()

    def load(self) -> ApiEncoder:
        """An mteb encoder over the served model (one probe request if nothing is cached)."""
        self.check()
        return ApiEncoder(self, ApiSide(API_PREFIX + self.model, self.api, "model"))


class ApiEncoder(AbsEncoder):
    """mteb ``EncoderProtocol`` over a served model; build it with :meth:`ApiSpec.load`.

    Texts are sent as they are (a served model applies its own prompts; for query/document
    templates or two served models, use an asymmetric pair). Vectors are L2-normalised and
    compared by cosine similarity.
    """

    def __init__(self, spec: ApiSpec, side: ApiSide) -> None:
        self.spec, self.side = spec, side
        self.mteb_model_meta = ModelMeta.create_empty(overwrites={
            "name": spec.name or f"{API_PREFIX}{spec.model}",
            "revision": api_identity(spec.model, {"query_template": "{text}",
                                                  "document_template": "{text}"}),
            "loader_kwargs": {"api": {"served_model": spec.model,
                                      "endpoint_host": side.api.host,
                                      "batch_size": spec.batch_size,
                                      "concurrency": side.api.concurrency}},
            "embed_dim": side.dim,
            "framework": ["API"],
            "similarity_fn_name": ScoringFunction.COSINE,
            "use_instructions": False,
            "model_type": ["dense"],
        })

    def encode(self, inputs: DataLoader[BatchedInput], *, task_metadata: TaskMetadata,
               hf_split: str, hf_subset: str, prompt_type: PromptType | None = None,
               **kwargs: Any) -> Array:
        """Vectors of every text of ``inputs``: cached ones from disk, the rest requested."""
        texts = [text for batch in inputs for text in batch["text"]]
        batch_size = self.spec.batch_size or int(kwargs.get("batch_size", 32))
        show = bool(kwargs.get("show_progress_bar", True))
        raw = self.side.encode(texts, batch_size, show, f"Embedding via {self.side.api.host}")
        return l2_normalise(raw)

    def run_notes(self) -> list[str]:
        """What the run report says after the table: texts from the cache, texts requested."""
        return self.side.run_notes()

    def speed_encoder(self, task_metadata: TaskMetadata) -> tuple[Any, dict[str, Any]]:
        """What ``medteb speed`` times: requests as the client sees them, never the cache."""
        side = self.side

        def encode(texts: list[str], batch_size: int) -> Any:
            return side.encode_uncached(texts, batch_size)

        return encode, {"n_parameters": None, "device": f"endpoint {side.api.host}",
                        "dtype": "n/a", "max_length": None,
                        "path": f"POST {side.api.endpoint} (no cache)"}
