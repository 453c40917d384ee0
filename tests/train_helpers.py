"""Tiny models and data for the end-to-end training test, built from cEpilepsyQA text."""

from __future__ import annotations

import csv
import random
from pathlib import Path

from tests.conftest import write_jsonl, write_qrels


def cepilepsy_texts(source: Path) -> list[str]:
    texts = []
    for name, column in (("question.csv", "content"), ("answer.csv", "content")):
        with (source / name).open(encoding="utf-8", newline="") as handle:
            texts += [row[column] for row in csv.DictReader(handle)]
    return texts


def tiny_query_bert(texts: list[str], folder: Path, hidden: int = 32) -> Path:
    """A random one-layer BERT, one token per CJK character of ``texts``, CLS pooling (ST)."""
    import torch
    from sentence_transformers import SentenceTransformer
    from transformers import BertConfig, BertModel, BertTokenizer

    from medteb.train.encoders import st_modules

    _, Pooling, Transformer = st_modules()

    chars = sorted({ch for t in texts for ch in t if "\u4e00" <= ch <= "\u9fff"})
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *"0123456789", *chars]
    raw = folder / "raw-bert"
    raw.mkdir(parents=True)
    (raw / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    tokenizer = BertTokenizer(str(raw / "vocab.txt"), tokenize_chinese_chars=True)
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(vocab), hidden_size=hidden, num_hidden_layers=1,
                        num_attention_heads=2, intermediate_size=2 * hidden,
                        max_position_embeddings=256)
    BertModel(config).save_pretrained(raw)
    tokenizer.save_pretrained(raw)
    model = SentenceTransformer(modules=[Transformer(str(raw), max_seq_length=64),
                                         Pooling(hidden, pooling_mode="cls")], device="cpu")
    path = folder / "query-bert"
    model.save(str(path))
    return path


def tiny_document_decoder(texts: list[str], folder: Path, hidden: int = 64,
                          vocab_size: int = 3000, name: str = "document-qwen2") -> Path:
    """A random one-layer Qwen2 with a byte-level BPE trained on ``texts`` (EOS never added)."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2Model

    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    backend.train_from_iterator(texts, trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=["<|endoftext|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False))
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, eos_token="<|endoftext|>")
    torch.manual_seed(1)
    config = Qwen2Config(vocab_size=backend.get_vocab_size(), hidden_size=hidden,
                         num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=1,
                         intermediate_size=2 * hidden, max_position_embeddings=512)
    path = folder / name
    Qwen2Model(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def retrieval_subset(task_dir: Path, destination: Path, n_queries: int, seed: int = 0) -> Path:
    """A smaller MedTEB-Retrieval folder: ``n_queries`` queries and every document they judge."""
    from medteb.benchmark.data.formats import read_retrieval

    data = read_retrieval(task_dir, "test", reranking=False)
    queries = random.Random(seed).sample(data.queries, n_queries)
    keep = {d for q in queries for d in data.relevant_docs[q["id"]]}
    out = destination / "MedTEB-Retrieval"
    write_jsonl(out / "queries.jsonl", [{"_id": q["id"], "text": q["text"]} for q in queries])
    write_jsonl(out / "corpus.jsonl", [{"_id": d["id"], "title": d["title"], "text": d["text"]}
                                       for d in data.corpus if d["id"] in keep])
    write_qrels(out / "qrels" / "test.tsv", [(q["id"], d, s) for q in queries
                                             for d, s in data.relevant_docs[q["id"]].items()])
    return destination
