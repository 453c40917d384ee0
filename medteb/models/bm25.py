"""``bm25-zh``: the offline lexical baseline (BM25 over jieba-segmented Chinese, via bm25s).

Retrieval and Reranking use real BM25 (``bm25s``, Lucene variant, k1=1.5, b=0.75); a Reranking
query is scored exactly over its own candidate list. STS has no corpus to take BM25 statistics
from, so ``encode`` returns the same lexical signal per sentence: jieba tokens weighted by
jieba's IDF table and BM25's saturated term frequency, hashed into a fixed-width vector and
L2-normalised, compared by cosine similarity. No model is downloaded.
"""

from __future__ import annotations

import logging
import unicodedata
import zlib
from collections import Counter
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np
from mteb.models.abs_encoder import AbsEncoder
from mteb.models.model_meta import ModelMeta, ScoringFunction

from medteb.models.names import BM25_NAME as NAME

if TYPE_CHECKING:
    from collections.abc import Iterable

    from mteb.abstasks.task_metadata import TaskMetadata
    from mteb.types import (
        Array,
        BatchedInput,
        CorpusDatasetType,
        EncodeKwargs,
        PromptType,
        QueryDatasetType,
        RetrievalOutputType,
        TopRankedDocumentsType,
    )
    from torch.utils.data import DataLoader

logger = logging.getLogger(__name__)

K1 = 1.5
B = 0.75
STS_DIM = 4096


@lru_cache(maxsize=1)
def _jieba() -> Any:
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


@lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_CHINESE

    return frozenset(STOPWORDS_CHINESE)


@lru_cache(maxsize=1)
def _idf_table() -> tuple[dict[str, float], float]:
    from jieba.analyse import default_tfidf

    return default_tfidf.idf_freq, default_tfidf.median_idf


def _is_word(token: str) -> bool:
    return any(unicodedata.category(ch)[0] in "LN" for ch in token)


def tokenize(text: str) -> list[str]:
    """Segment Chinese text with jieba (search mode), lower-case it, drop punctuation and stopwords.

    >>> tokenize("孩子发烧39度，还咳嗽！")
    ['孩子', '发烧', '39', '度', '咳嗽']
    """
    stop = _stopwords()
    return [
        t for t in (tok.strip().lower() for tok in _jieba().cut_for_search(text))
        if t and _is_word(t) and t not in stop
    ]


def sts_vector(text: str, dim: int = STS_DIM) -> np.ndarray:
    """The lexical vector ``bm25-zh`` gives one sentence (see the module docstring)."""
    idf, default_idf = _idf_table()
    vector = np.zeros(dim, dtype=np.float32)
    for token, tf in Counter(tokenize(text)).items():
        weight = idf.get(token, default_idf) * tf * (K1 + 1) / (tf + K1)
        vector[zlib.crc32(token.encode("utf-8")) % dim] += weight
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector


class BM25Zh(AbsEncoder):
    """BM25 over jieba tokens for Retrieval/Reranking; hashed lexical vectors for STS."""

    def __init__(self, k1: float = K1, b: float = B) -> None:
        import bm25s
        import jieba

        logging.getLogger("bm25s").setLevel(logging.NOTSET)  # bm25s forces DEBUG on import
        self.k1, self.b = k1, b
        self._retriever: Any = None
        self._vocab: dict[str, int] = {}
        self._doc_ids: list[str] = []
        self._doc_index: dict[str, int] = {}
        self.mteb_model_meta = ModelMeta.create_empty(overwrites={
            "name": f"medteb/{NAME}",
            "revision": f"bm25s-{bm25s.__version__}_jieba-{jieba.__version__}_k1-{k1:g}_b-{b:g}",
            "languages": ["cmn-Hans"],
            "n_parameters": 0,
            "n_embedding_parameters": 0,
            "memory_usage_mb": None,
            "max_tokens": None,
            "embed_dim": STS_DIM,
            "license": "mit",
            "open_weights": True,
            "public_training_code": None,
            "public_training_data": None,
            "framework": [],
            "reference": "https://github.com/xhluca/bm25s",
            "similarity_fn_name": ScoringFunction.COSINE,
            "use_instructions": False,
            "training_datasets": set(),
            "model_type": ["sparse"],
        })

    def index(self, corpus: CorpusDatasetType, *, task_metadata: TaskMetadata, hf_split: str,
              hf_subset: str, encode_kwargs: EncodeKwargs, num_proc: int | None = None,
              **kwargs: Any) -> None:
        """Tokenise the corpus (title and text) and build the BM25 index."""
        import bm25s
        from bm25s.tokenization import Tokenized

        self._vocab = {}
        ids: list[list[int]] = []
        for title, text in zip(_column(corpus, "title"), corpus["text"], strict=True):
            tokens = tokenize(f"{title}\n{text}" if title else text)
            ids.append([self._vocab.setdefault(t, len(self._vocab)) for t in tokens])
        self._doc_ids = list(corpus["id"])
        self._doc_index = {doc_id: i for i, doc_id in enumerate(self._doc_ids)}
        self._retriever = bm25s.BM25(k1=self.k1, b=self.b, method="lucene")
        self._retriever.index(Tokenized(ids=ids, vocab=self._vocab), show_progress=False)

    def search(self, queries: QueryDatasetType, *, task_metadata: TaskMetadata, hf_split: str,
               hf_subset: str, top_k: int, encode_kwargs: EncodeKwargs,
               top_ranked: TopRankedDocumentsType | None = None, num_proc: int | None = None,
               **kwargs: Any) -> RetrievalOutputType:
        """Score queries: the top ``top_k`` of the corpus, or exactly each query's candidates."""
        if self._retriever is None:
            raise RuntimeError("BM25Zh.search called before index()")
        results: RetrievalOutputType = {}
        for qid, text in zip(queries["id"], queries["text"], strict=True):
            tokens = [t for t in tokenize(text) if t in self._vocab]
            scores = (self._retriever.get_scores(tokens) if tokens
                      else np.zeros(len(self._doc_ids), dtype=np.float32))
            if top_ranked is not None and qid in top_ranked:
                idx = np.fromiter((self._doc_index[d] for d in top_ranked[qid]), dtype=np.int64)
            else:
                k = min(top_k, len(self._doc_ids))
                idx = np.argpartition(-scores, k - 1)[:k]
            results[qid] = {self._doc_ids[i]: float(scores[i]) for i in idx}
        return results

    def encode(self, inputs: DataLoader[BatchedInput], *, task_metadata: TaskMetadata,
               hf_split: str, hf_subset: str, prompt_type: PromptType | None = None,
               **kwargs: Any) -> Array:
        """Hashed lexical vectors (used by STS), one row per input text."""
        texts = [text for batch in inputs for text in batch["text"]]
        if not texts:
            return np.zeros((0, STS_DIM), dtype=np.float32)
        return np.stack([sts_vector(t) for t in texts])


def _column(dataset: Any, name: str) -> Iterable[str]:
    if name in getattr(dataset, "column_names", []):
        return [v or "" for v in dataset[name]]
    return [""] * len(dataset)
