"""Shared fixtures: offline mode, a tiny BERT built in a temp dir, real public data converters."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

# Before anything imports huggingface_hub (it reads these once): no test touches the network.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
SAMPLE_TASKS = ROOT / "tasks"


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("MEDTEB_DATA_DIR", raising=False)
    monkeypatch.setenv("MTEB_CACHE", str(tmp_path / "mteb-cache"))  # never ~/.cache/mteb
    monkeypatch.setenv("MEDTEB_CACHE_DIR", str(tmp_path / "medteb-cache"))  # fingerprints


def copy_seeded_results(repo: Path) -> Path:
    """``repo/results``: the repository's seeded entries (the paper's reported numbers) and a
    leaderboard.md generated from them, whatever a user has run or submitted in this checkout.

    Tests never read or write the repository's own results/ beyond this copy.
    """
    import shutil

    from medteb.results.layout import read_submission
    from medteb.results.outputs import regenerate_leaderboard

    for folder in sorted((ROOT / "results").glob("*/reported-*")):
        if read_submission(folder).provenance == "reported":
            shutil.copytree(folder, repo / "results" / folder.parent.name / folder.name)
    regenerate_leaderboard(repo / "results", repo / "leaderboard.md", figure=False)
    return repo / "results"


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                    encoding="utf-8")


def write_qrels(path: Path, rows: list[tuple[str, str, int]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["query-id\tcorpus-id\tscore", *(f"{q}\t{d}\t{s}" for q, d, s in rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _vocab() -> list[str]:
    chars: set[str] = set("0123456789abcdefghijklmnopqrstuvwxyz")
    for path in SAMPLE_TASKS.glob("*/sample/**/*.jsonl"):
        chars.update(ch for ch in path.read_text(encoding="utf-8") if "\u4e00" <= ch <= "\u9fff")
    return ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *sorted(chars)]


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised one-layer BERT (hidden 32, CLS pooling) as a sentence-transformers
    folder: one token per CJK character of the bundled samples."""
    import torch
    from sentence_transformers import SentenceTransformer, models
    from transformers import BertConfig, BertModel, BertTokenizer

    folder = tmp_path_factory.mktemp("tiny-bert")
    raw = folder / "raw"
    raw.mkdir()
    (raw / "vocab.txt").write_text("\n".join(_vocab()) + "\n", encoding="utf-8")
    tokenizer = BertTokenizer(str(raw / "vocab.txt"), tokenize_chinese_chars=True)
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(tokenizer.vocab), hidden_size=32, num_hidden_layers=1,
                        num_attention_heads=2, intermediate_size=64, max_position_embeddings=512,
                        initializer_range=1.0)  # distinct vectors, not near-ties
    BertModel(config).save_pretrained(raw)
    tokenizer.save_pretrained(raw)
    transformer = models.Transformer(str(raw), max_seq_length=128)
    pooling = models.Pooling(32, pooling_mode="cls")
    model = SentenceTransformer(modules=[transformer, pooling], device="cpu")
    path = folder / "tiny-bert-zh"
    model.save(str(path))
    return path


@pytest.fixture(scope="session")
def tiny_decoder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised one-layer Qwen2 (hidden 64) as a plain transformers folder.

    Its byte-level BPE tokenizer (trained on the bundled samples, 800 tokens) defines EOS
    ``<|endoftext|>`` but never appends it, like Qwen's: last-token pooling must add it.
    """
    from tests.train_helpers import tiny_document_decoder

    texts = [line for path in sorted(SAMPLE_TASKS.glob("*/sample/**/*.jsonl"))
             for line in path.read_text(encoding="utf-8").splitlines()]
    return tiny_document_decoder(texts, tmp_path_factory.mktemp("tiny-decoder"), hidden=64,
                                 vocab_size=800, name="tiny-qwen2-zh")


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """medteb's wheel, built once per session from the checkout (no build isolation: fast)."""
    import subprocess
    import sys

    pytest.importorskip("hatchling", reason="hatchling builds the wheel (pip install -e '.[test]')")
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(out), str(ROOT)], check=True, capture_output=True)
    (path,) = list(out.glob("medteb-*.whl"))
    return path


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real public data not found at {SHARED_DATA} (../shared/data)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def cepilepsy_dirs(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """cEpilepsyQA (cMedQA release format) converted to MedTEB-Retrieval and MedTEB-Rerank."""
    from medteb.benchmark.data.cmedqa import import_cmedqa_release

    root = tmp_path_factory.mktemp("cepilepsy") / "data"
    import_cmedqa_release(shared_data / "cEpilepsyQA", root)
    return root


@pytest.fixture(scope="session")
def chip_sts_dir(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """CHIP-STS dev (labelled) converted to MedTEB-STS."""
    rows = json.loads((shared_data / "CHIP-STS" / "CHIP-STS_dev.json").read_text("utf-8"))
    root = tmp_path_factory.mktemp("chip-sts")
    write_jsonl(root / "MedTEB-STS" / "sts" / "test.jsonl", [
        {"sentence1": r["text1"], "sentence2": r["text2"], "score": int(r["label"])}
        for r in rows
    ])
    return root
