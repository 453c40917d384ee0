"""Shared by the benchmark scripts: random models built from scratch, and where the data is."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
CEPILEPSY = ROOT.parent / "shared/data/cEpilepsyQA"


def random_bert(folder: Path, texts: list[str], *, hidden: int, layers: int, seed: int = 0,
                max_seq_length: int | None = None) -> Path:
    """A random BERT (one token per character of ``texts``) in ``folder``.

    With ``max_seq_length``, also saves a sentence-transformers version (CLS pooling) in
    ``folder/st`` and returns that; otherwise returns the plain transformers folder.
    """
    import torch
    from transformers import BertConfig, BertModel, BertTokenizer

    raw = folder / "raw"
    raw.mkdir(parents=True)
    chars = sorted({ch for t in texts for ch in t if not ch.isspace()})
    (raw / "vocab.txt").write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
                                              *chars]) + "\n", encoding="utf-8")
    tokenizer = BertTokenizer(str(raw / "vocab.txt"), tokenize_chinese_chars=True)
    torch.manual_seed(seed)
    BertModel(BertConfig(vocab_size=len(tokenizer.vocab), hidden_size=hidden,
                         num_hidden_layers=layers, num_attention_heads=2,
                         intermediate_size=2 * hidden,
                         initializer_range=1.0)).save_pretrained(raw)  # distinct vectors
    tokenizer.save_pretrained(raw)
    if max_seq_length is None:
        return raw
    from sentence_transformers import SentenceTransformer, models

    model = SentenceTransformer(modules=[models.Transformer(str(raw),
                                                            max_seq_length=max_seq_length),
                                         models.Pooling(hidden, pooling_mode="cls")],
                                device="cpu")
    model.save(str(folder / "st"))
    return folder / "st"


def random_decoder(folder: Path, texts: list[str], *, hidden: int, layers: int,
                   heads: int, seed: int = 2) -> Path:
    """A random Qwen2 with a byte-level BPE tokenizer trained on ``texts`` (EOS defined)."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2Model

    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    backend.train_from_iterator(texts, trainers.BpeTrainer(
        vocab_size=4000, special_tokens=["<|endoftext|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False))
    torch.manual_seed(seed)
    Qwen2Model(Qwen2Config(vocab_size=backend.get_vocab_size(), hidden_size=hidden,
                           num_hidden_layers=layers, num_attention_heads=heads,
                           num_key_value_heads=2, intermediate_size=hidden * 8 // 3)
               ).save_pretrained(folder)
    PreTrainedTokenizerFast(tokenizer_object=backend,
                            eos_token="<|endoftext|>").save_pretrained(folder)
    return folder
