"""The asymmetric pair: routing, pooling, truncation, identity with a single model, errors."""

from __future__ import annotations

import json
from pathlib import Path

import mteb
import numpy as np
import pytest
from mteb.models.model_meta import ScoringFunction

from medteb.benchmark.tasks import get_task
from medteb.errors import MedtebError, UnknownModelError
from medteb.evaluation.runner import RunConfig, run
from medteb.models.asymmetric import (
    AsymmetricEncoder,
    AsymmetricSpec,
    DimensionMismatchError,
    _normalise,
)
from medteb.models.document_store import DocumentStore, EncoderIdentity
from medteb.models.kinds import load_side
from medteb.models.sides import (
    PAPER_QUERY_TEMPLATE,
    PooledSide,
    PoolingError,
    SideConfig,
)
from medteb.results.layout import ResultsFolder
from tests.conftest import SAMPLE_TASKS


class RecordingSide:
    """A fake side: remembers every text and embeds it by a fixed pseudo-random projection."""

    pooling = "cls"
    revision = "fake"
    max_length = 512

    def __init__(self, name: str, dim: int, n_parameters: int) -> None:
        self.config = SideConfig(name)
        self.dim, self.n_parameters = dim, n_parameters
        self.texts: list[str] = []

    def encode(self, texts: list[str], batch_size: int, show_progress: bool,
               desc: str, context: object = None) -> np.ndarray:
        self.texts += texts
        rows = [np.random.default_rng(sum(map(ord, t))).normal(size=self.dim) for t in texts]
        return np.array(rows, dtype=np.float32).reshape(len(texts), self.dim)


def _pair(tmp_path: Path, query_dim: int = 8, document_dim: int = 8, **spec_kwargs
          ) -> tuple[AsymmetricEncoder, RecordingSide, RecordingSide]:
    spec = AsymmetricSpec(query=SideConfig("org/q"), document=SideConfig("org/d"),
                          store=tmp_path / "store", **spec_kwargs)
    query = RecordingSide("org/q", query_dim, 10)
    document = RecordingSide("org/d", document_dim, 1000)
    identity = EncoderIdentity("org/d", "fake", "cls", 512, "float32", document_dim, 1000)
    encoder = AsymmetricEncoder(spec, query, document, identity,
                                DocumentStore(tmp_path / "store"))
    return encoder, query, document


def _sample_texts(task: str) -> tuple[set[str], set[str]]:
    folder = SAMPLE_TASKS / task / "sample"
    queries = {json.loads(line)["text"] for line in
               (folder / "queries.jsonl").read_text(encoding="utf-8").splitlines()}
    corpus = set()
    for line in (folder / "corpus.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        corpus.add(f"{row.get('title', '')} {row['text']}".strip())
    return queries, corpus


@pytest.mark.parametrize("task", ["MedTEB-Retrieval", "MedTEB-Rerank"])
def test_queries_reach_only_the_query_encoder(tmp_path: Path, task: str) -> None:
    encoder, query, document = _pair(tmp_path)
    mteb.evaluate(encoder, get_task(task, data_dir="sample"),
                  cache=ResultsFolder(tmp_path / "results"), show_progress_bar=False)
    queries, corpus = _sample_texts(task)
    assert set(query.texts) == queries  # by default a query is presented as it is
    assert set(document.texts) == corpus  # no instruction on documents by default


def test_the_paper_template_is_one_option_away_and_recorded(tmp_path: Path) -> None:
    encoder, query, _ = _pair(tmp_path, query_template=PAPER_QUERY_TEMPLATE)
    task = get_task("MedTEB-Retrieval", data_dir="sample")
    mteb.evaluate(encoder, task, cache=ResultsFolder(tmp_path / "results"),
                  show_progress_bar=False)
    queries, _ = _sample_texts("MedTEB-Retrieval")
    instruction = task.metadata.prompt
    assert set(query.texts) == {f"Instruct: {instruction}\nQuery: {q}" for q in queries}
    recorded = encoder.mteb_model_meta.loader_kwargs["asymmetric"]["query_template"]
    assert recorded == "Instruct: {instruction}\nQuery: {text}"
    assert encoder.mteb_model_meta.use_instructions is True


def test_sts_goes_through_the_query_encoder_by_default_or_the_chosen_side(tmp_path: Path) -> None:
    encoder, query, document = _pair(tmp_path / "a", query_template="{text}")
    mteb.evaluate(encoder, get_task("MedTEB-STS", data_dir="sample"),
                  cache=ResultsFolder(tmp_path / "r1"), show_progress_bar=False)
    assert len(query.texts) > 0 and document.texts == []

    encoder, query, document = _pair(tmp_path / "b", sts_side="document")
    mteb.evaluate(encoder, get_task("MedTEB-STS", data_dir="sample"),
                  cache=ResultsFolder(tmp_path / "r2"), show_progress_bar=False)
    assert query.texts == [] and len(document.texts) > 0


def test_templates_place_instruction_and_text(tmp_path: Path) -> None:
    encoder, query, document = _pair(
        tmp_path, query_template="<{instruction}>{text}!",
        document_template="passage: {text}")
    metadata = get_task("MedTEB-Retrieval").metadata
    from mteb._create_dataloaders import _create_dataloader_from_texts
    from mteb.types import PromptType

    for prompt_type, texts in ((PromptType.query, ["问{text}"]), (PromptType.document, ["文"])):
        encoder.encode(_create_dataloader_from_texts(texts), task_metadata=metadata,
                       hf_split="test", hf_subset="default", prompt_type=prompt_type,
                       show_progress_bar=False)
    # a "{text}" inside the text itself is data, not a placeholder
    assert query.texts == [f"<{metadata.prompt}>问{{text}}!"]
    assert document.texts == ["passage: 文"]


def test_truncation_then_normalisation_by_hand() -> None:
    vectors = np.array([[3, 4, 12], [0, 0, 0], [-1, 0, 5]], dtype=np.float32)
    # first two dims: (3, 4) / 5; a zero vector stays zero instead of dividing by zero
    np.testing.assert_allclose(_normalise(vectors, 2), [[0.6, 0.8], [0, 0], [-1, 0]])
    np.testing.assert_allclose(_normalise(vectors, 3)[0], np.array([3, 4, 12]) / 13)


def test_pair_outputs_truncated_unit_vectors(tmp_path: Path) -> None:
    encoder, _, document = _pair(tmp_path, query_dim=8, document_dim=16, truncate_dim=4)
    from mteb._create_dataloaders import _create_dataloader_from_texts
    from mteb.types import PromptType

    metadata = get_task("MedTEB-Retrieval").metadata
    out = encoder.encode(_create_dataloader_from_texts(["甲", "乙"]), task_metadata=metadata,
                         hf_split="test", hf_subset="default",
                         prompt_type=PromptType.document, show_progress_bar=False)
    raw = document.encode(["甲", "乙"], 2, False, "")[:, :4]
    np.testing.assert_allclose(out, raw / np.linalg.norm(raw, axis=1, keepdims=True), rtol=1e-6)
    assert out.shape == (2, 4) and encoder.mteb_model_meta.embed_dim == 4


def test_meta_names_the_pair_and_both_parameter_counts(tmp_path: Path) -> None:
    encoder, _, _ = _pair(tmp_path, query_dim=8, document_dim=16, truncate_dim=8)
    meta = encoder.mteb_model_meta
    assert meta.name == "asym/org-q+org-d"
    assert meta.n_parameters == 1010
    pair = meta.loader_kwargs["asymmetric"]
    assert (pair["query"]["n_parameters"], pair["document"]["n_parameters"]) == (10, 1000)
    assert (pair["query"]["revision"], pair["document"]["revision"]) == ("fake", "fake")
    assert meta.similarity_fn_name == ScoringFunction.COSINE
    assert meta.use_instructions is False and meta.embed_dim == 8  # queries as they are
    other, _, _ = _pair(tmp_path, query_dim=8, document_dim=16, truncate_dim=4)
    templated, _, _ = _pair(tmp_path, query_dim=8, document_dim=16, truncate_dim=8,
                            query_template=PAPER_QUERY_TEMPLATE)
    named, _, _ = _pair(tmp_path, query_dim=8, document_dim=16, truncate_dim=8, name="me/mar")
    revisions = {e.mteb_model_meta.revision for e in (encoder, other, templated)}
    assert len(revisions) == 3  # results of different settings never share a folder
    assert named.mteb_model_meta.name == "me/mar"
    assert templated.mteb_model_meta.use_instructions is True


# --- real (tiny) models --------------------------------------------------------------------


def test_last_token_pooling_appends_eos_and_pools_it(tiny_decoder: Path) -> None:
    import torch
    from transformers import AutoModel, AutoTokenizer

    side = load_side(SideConfig(str(tiny_decoder), pooling="last-token", max_length=8),
                     "document")
    assert isinstance(side, PooledSide) and side.pooling == "last-token"
    tokenizer = AutoTokenizer.from_pretrained(tiny_decoder)
    eos = tokenizer.eos_token_id
    texts = ["发烧", "孩子发烧39度还一直咳嗽，要不要去医院啊"]
    assert eos not in tokenizer(texts[0])["input_ids"]  # the tokenizer never adds EOS itself
    batch = side.tokenize(texts)
    lengths = batch["attention_mask"].sum(1)
    for row, length in zip(batch["input_ids"], lengths, strict=True):
        assert row[int(length) - 1] == eos
    short = tokenizer(texts[0])["input_ids"]
    assert batch["input_ids"][0, : len(short)].tolist() == short
    assert int(lengths[1]) == 8  # truncated to max_length, EOS still last

    model = AutoModel.from_pretrained(tiny_decoder).eval()
    with torch.inference_mode():
        ids = torch.tensor([[*short, eos]])
        expected = model(input_ids=ids).last_hidden_state[0, -1].numpy()
    np.testing.assert_allclose(side.encode(texts, 2, False, "")[0], expected, atol=1e-5)


def test_cls_and_mean_pooling_of_a_plain_bert(tiny_bert: Path) -> None:
    import torch
    from sentence_transformers import SentenceTransformer
    from transformers import AutoModel, AutoTokenizer

    raw = tiny_bert.parent / "raw"
    texts = ["头痛怎么办", "发烧"]
    cls_side = load_side(SideConfig(str(raw), pooling="cls"), "query")
    assert cls_side.pooling == "cls"
    st = SentenceTransformer(str(tiny_bert), device="cpu")  # the same weights, ST CLS pooling
    np.testing.assert_allclose(cls_side.encode(texts, 2, False, ""), st.encode(texts), atol=1e-5)

    mean_side = load_side(SideConfig(str(raw), pooling="mean"), "query")
    tokenizer, model = AutoTokenizer.from_pretrained(raw), AutoModel.from_pretrained(raw).eval()
    with torch.inference_mode():
        hidden = model(**tokenizer(texts[1], return_tensors="pt")).last_hidden_state[0]
    np.testing.assert_allclose(mean_side.encode(texts, 2, False, "")[1], hidden.mean(0).numpy(),
                               atol=1e-5)


def test_same_model_twice_scores_exactly_as_the_model_alone(tmp_path: Path,
                                                            tiny_bert: Path) -> None:
    tasks = ["MedTEB-Retrieval", "MedTEB-Rerank", "MedTEB-STS"]
    alone = run(RunConfig(model=str(tiny_bert), tasks=tasks, data_dir="sample",
                          output_folder=tmp_path / "alone", show_progress=False))
    side = SideConfig(str(tiny_bert))  # defaults: the model as `-m` loads it, queries as-is
    spec = AsymmetricSpec(query=side, document=side, store=tmp_path / "store")
    pair = run(RunConfig(model=spec, tasks=tasks, data_dir="sample",
                         output_folder=tmp_path / "pair", show_progress=False))
    retrieval, rerank, sts = (o.score for o in pair.outcomes)
    assert [retrieval, rerank] == [o.score for o in alone.outcomes[:2]]  # mteb rounds to 1e-5
    # STS Pearson is not rounded: cosines of pre-normalised float32 vectors differ in the last
    # bit from cosines of raw ones, which moves the correlation by ~1e-8
    assert sts == pytest.approx(alone.outcomes[2].score, abs=1e-6)
    assert all(o.score is not None and o.score > 0 for o in pair.outcomes)


def test_dimension_mismatch_is_refused_before_encoding(tiny_bert: Path,
                                                       tiny_decoder: Path) -> None:
    spec = AsymmetricSpec(query=SideConfig(str(tiny_bert)),
                          document=SideConfig(str(tiny_decoder)), use_store=False)
    with pytest.raises(DimensionMismatchError,
                       match=r"query encoder gives 32-d vectors and the document encoder 64-d; "
                             r"pass --truncate-dim 32"):
        spec.load()
    too_long = AsymmetricSpec(query=spec.query, document=spec.document, truncate_dim=48,
                              use_store=False)
    with pytest.raises(DimensionMismatchError,
                       match="--truncate-dim 48 exceeds the query encoder's dimension 32"):
        too_long.load()


@pytest.mark.parametrize(("spec_kwargs", "error", "message"), [
    ({"query": SideConfig("org/q", pooling="max")}, PoolingError,
     r"unknown query pooling 'max'; choose one of auto, cls, mean, last-token"),
    ({"document": SideConfig("./no/such/model")}, UnknownModelError,
     r"document model path './no/such/model' does not exist"),
    ({"query_template": "Instruct: {instruction}"}, MedtebError,
     r"the query template 'Instruct: \{instruction\}' has no \{text\} placeholder"),
    ({"truncate_dim": 0}, DimensionMismatchError, "--truncate-dim must be positive"),
    ({"document": SideConfig("org/d", dtype="int8")}, MedtebError,
     "unknown document dtype 'int8'"),
    ({"document": SideConfig("org/d", max_length=1)}, MedtebError,
     "document max length must be at least 2"),
    ({"name": "no-slash"}, MedtebError, "must look like 'organisation/name'"),
    ({"store_only": True, "use_store": False}, MedtebError, "store-only mode needs the"),
])
def test_bad_settings_are_refused_before_loading(spec_kwargs: dict, error: type,
                                                 message: str) -> None:
    settings = {"query": SideConfig("org/q"), "document": SideConfig("org/d"), **spec_kwargs}
    with pytest.raises(error, match=message):
        AsymmetricSpec(**settings).check()


def test_last_token_pooling_needs_an_eos_token(tiny_bert: Path) -> None:
    with pytest.raises(PoolingError, match="defines none; set eos_token"):
        load_side(SideConfig(str(tiny_bert.parent / "raw"), pooling="last-token"), "document")


def test_a_folder_without_a_model_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UnknownModelError, match=r"cannot load query model .* \(folder\)"):
        load_side(SideConfig(str(tmp_path)), "query")
