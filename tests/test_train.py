"""The training recipe: losses by hand, what each stage may change, resume, data, CLI."""

from __future__ import annotations

import json
import math
import shlex
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("peft")
pytest.importorskip("accelerate")

from medteb.errors import TrainingError  # noqa: E402
from medteb.train import losses  # noqa: E402
from medteb.train.data import Triplet, alignment_texts, read_triplets  # noqa: E402
from medteb.train.loop import StageSettings  # noqa: E402
from medteb.train.recipe import PairRecipe  # noqa: E402


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny models gain nothing from threads; one avoids oversubscription stalls on shared cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


TEXTS = ["癫痫发作怎么办", "头痛吃什么药", "高血压饮食注意", "孩子发烧怎么办", "失眠如何治疗",
         "糖尿病能吃水果吗", "感冒咳嗽", "胃痛怎么缓解"]
TRIPLETS = [Triplet(t, (t + "，建议就医检查",), (TEXTS[(i + 1) % len(TEXTS)] + "的回答",))
            for i, t in enumerate(TEXTS)]


# --- losses against hand-computed values ------------------------------------------------------

def test_mse_alignment_by_hand() -> None:
    q = torch.tensor([[3.0, 0.0], [0.0, 2.0]])  # normalised: (1, 0), (0, 1)
    d = torch.tensor([[1.0, 0.0], [5.0, 0.0]])  # normalised: (1, 0), (1, 0)
    # row 0: |(1,0)-(1,0)|² = 0; row 1: |(0,1)-(1,0)|² = 2; mean 1
    assert losses.mse_alignment(q, d).item() == pytest.approx(1.0)


def test_asym_info_nce_by_hand() -> None:
    q = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    pos = torch.tensor([[2.0, 0.0], [0.0, 1.0]])
    # in-batch only, τ = 1: logits [[1, 0], [0, 1]]; each row -log(e / (e + 1))
    expected = math.log(1 + math.exp(-1))
    assert losses.asym_info_nce(q, pos, None, 1.0).item() == pytest.approx(expected)
    # one hard negative each: query 0 -> (0, 1), query 1 -> (1, 0); candidates for every query
    # are both positives and both negatives: row 0 logits/τ [2, 0, 0, 2] with τ = 0.5
    neg = torch.tensor([[[0.0, 3.0]], [[1.0, 0.0]]])
    expected = -math.log(math.exp(2) / (2 * math.exp(2) + 2))
    assert losses.asym_info_nce(q, pos, neg, 0.5).item() == pytest.approx(expected, rel=1e-6)


def test_alignment_loss_is_weighted_sum() -> None:
    g = torch.Generator().manual_seed(0)
    q, d = torch.randn(4, 8, generator=g), torch.randn(4, 8, generator=g)
    expected = 0.3 * losses.asym_info_nce(q, d, None, 0.1) + 2 * losses.mse_alignment(q, d)
    got = losses.alignment_loss(q, d, 0.1, contrastive_weight=0.3, mse_weight=2)
    assert got.item() == pytest.approx(expected.item())


def test_matryoshka_loss_is_mean_of_per_dimension_losses() -> None:
    g = torch.Generator().manual_seed(1)
    q, p, n = (torch.randn(4, 16, generator=g), torch.randn(4, 16, generator=g),
               torch.randn(4, 2, 16, generator=g))
    per_dim = [losses.asym_info_nce(q[:, :m], p[:, :m], n[..., :m], 0.05).item()
               for m in (4, 8, 16)]
    got = losses.matryoshka_info_nce(q, p, n, (4, 8, 16), 0.05).item()
    assert got == pytest.approx(sum(per_dim) / 3)
    assert len(set(per_dim)) == 3  # the truncations really differ


# --- what each stage changes ------------------------------------------------------------------

def _encoders(tiny_bert: Path, tiny_decoder: Path, dim: int | None = None):
    from medteb.train.encoders import DocumentEncoder, QueryEncoder

    torch.manual_seed(0)
    return (QueryEncoder.load(str(tiny_bert), dim, max_length=32),
            DocumentEncoder.load(str(tiny_decoder), max_length=32))


def _snapshot(module) -> dict:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def _changed(before: dict, module) -> set[str]:
    after = module.state_dict()
    return {k for k, v in before.items() if not torch.equal(v, after[k])}


FAST = StageSettings(batch_size=4, max_steps=3, learning_rate=1e-3, warmup_ratio=0.0,
                     precision="fp32", gradient_checkpointing=True)  # exercised on both sides


def test_stage_one_leaves_the_document_encoder_unchanged(tiny_bert: Path,
                                                         tiny_decoder: Path) -> None:
    from medteb.train.recipe import align_query_encoder

    query, document = _encoders(tiny_bert, tiny_decoder, dim=48)  # 32 -> 48: projection
    assert query.projected and query.dim == 48
    doc_before, query_before = _snapshot(document.model), _snapshot(query.module)
    log = align_query_encoder(query, document, TEXTS, PairRecipe(alignment_stage=FAST),
                              show_progress=False)
    assert log.steps == 3 and len(log.losses) == 3
    assert _changed(doc_before, document.model) == set()
    changed = _changed(query_before, query.module)
    assert any(k.startswith("2.") for k in changed)  # the projection (Dense) learned
    assert any(k.startswith("0.") for k in changed)  # and the transformer


def test_stage_two_changes_only_lora_adapters_on_the_document_side(
        tiny_bert: Path, tiny_decoder: Path) -> None:
    from medteb.train.recipe import joint_finetune

    query, document = _encoders(tiny_bert, tiny_decoder)
    base_before, query_before = _snapshot(document.model), _snapshot(query.module)
    joint_finetune(query, document, TRIPLETS, PairRecipe(joint_stage=FAST, lora_rank=4,
                                                         lora_alpha=8), show_progress=False)
    assert document.has_lora
    after = document.model.state_dict()
    lora_b = {k for k in after if "lora_B" in k}
    assert lora_b and all(after[k].abs().sum() > 0 for k in lora_b)  # B starts at zero: trained
    base_after = {k.replace(".base_layer", ""): v
                  for k, v in document.model.get_base_model().state_dict().items()
                  if "lora_" not in k}
    assert base_after.keys() == base_before.keys()
    assert [k for k, v in base_before.items() if not torch.equal(v, base_after[k])] == []
    assert _changed(query_before, query.module)  # the query encoder trained too


def test_resumed_run_matches_an_uninterrupted_one(tiny_bert: Path, tiny_decoder: Path,
                                                  tmp_path: Path) -> None:
    from medteb.train.recipe import joint_finetune

    settings = StageSettings(batch_size=3, max_steps=4, learning_rate=1e-3, warmup_ratio=0.25,
                             checkpoint_every=2, precision="fp32")
    recipe = PairRecipe(joint_stage=settings, lora_rank=4, lora_alpha=8, lora_dropout=0.1)

    query, document = _encoders(tiny_bert, tiny_decoder)
    whole = joint_finetune(query, document, TRIPLETS, recipe, tmp_path / "whole",
                           show_progress=False)
    expected = {**_snapshot(query.module), **_snapshot(document.model)}

    def interrupt(step: int, loss: float) -> None:
        if step == 2:
            raise KeyboardInterrupt

    query, document = _encoders(tiny_bert, tiny_decoder)
    with pytest.raises(KeyboardInterrupt):
        joint_finetune(query, document, TRIPLETS, recipe, tmp_path / "cut", on_step=interrupt,
                       show_progress=False)
    assert (tmp_path / "cut" / "step-2" / "state.pt").is_file()
    query, document = _encoders(tiny_bert, tiny_decoder)  # a fresh process, in effect
    resumed = joint_finetune(query, document, TRIPLETS, recipe, tmp_path / "cut",
                             show_progress=False)
    assert resumed.resumed_from == 2
    assert resumed.losses == pytest.approx(whole.losses, abs=1e-6)
    got = {**_snapshot(query.module), **_snapshot(document.model)}
    assert got.keys() == expected.keys()
    for key in expected:
        assert torch.allclose(got[key], expected[key], atol=1e-6), key

    other = PairRecipe(joint_stage=StageSettings(**{**settings.__dict__, "learning_rate": 5e-4}),
                       lora_rank=4, lora_alpha=8)
    query, document = _encoders(tiny_bert, tiny_decoder)
    with pytest.raises(TrainingError, match="made with other data or settings"):
        joint_finetune(query, document, TRIPLETS, other, tmp_path / "cut", show_progress=False)


# --- data ---------------------------------------------------------------------------------------

def test_read_triplets_jsonl_and_errors(tmp_path: Path) -> None:
    good = tmp_path / "train.jsonl"
    good.write_text(json.dumps({"query": "头痛", "pos": ["多休息"], "neg": ["吃饭"]},
                               ensure_ascii=False) + "\n"
                    + json.dumps({"query": "发烧", "positives": "退烧药"}, ensure_ascii=False)
                    + "\n", encoding="utf-8")
    assert read_triplets(good) == [Triplet("头痛", ("多休息",), ("吃饭",)),
                                   Triplet("发烧", ("退烧药",), ())]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"query": "头痛", "pos": []}\nnot json\n{"query": "", "pos": ["a"]}\n',
                   encoding="utf-8")
    with pytest.raises(TrainingError, match=r"bad.jsonl: 3 problem\(s\): line 1: \"pos\" must be "
                                            r"a non-empty list.*line 2: not JSON.*line 3: "
                                            r"\"query\" must be"):
        read_triplets(bad)
    with pytest.raises(TrainingError, match="does not exist; give a triplet .jsonl"):
        read_triplets(tmp_path / "missing.jsonl")


def test_triplets_from_a_medteb_retrieval_folder() -> None:
    sample = Path(__file__).resolve().parents[1] / "tasks" / "MedTEB-Retrieval" / "sample"
    triplets = read_triplets(sample, split="test")
    assert triplets and all(t.positives for t in triplets)
    assert any(t.negatives for t in triplets) or all(not t.negatives for t in triplets)


def test_alignment_texts_from_files(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("头痛\n头痛\n\n发烧\n", encoding="utf-8")
    (tmp_path / "b.csv").write_text("id,content\n1,发烧\n2,咳嗽很久\n", encoding="utf-8")
    (tmp_path / "c.jsonl").write_text(json.dumps({"query": "失眠", "pos": ["睡前少喝茶"]},
                                                 ensure_ascii=False) + "\n", encoding="utf-8")
    texts = alignment_texts([tmp_path / n for n in ("a.txt", "b.csv", "c.jsonl")])
    assert texts == ["头痛", "发烧", "咳嗽很久", "失眠", "睡前少喝茶"]
    (tmp_path / "d.xml").write_text("<a/>", encoding="utf-8")
    with pytest.raises(TrainingError, match="unsupported alignment source"):
        alignment_texts([tmp_path / "d.xml"])


def test_recipe_and_settings_are_checked() -> None:
    with pytest.raises(TrainingError, match="joint settings: batch_size must be at least 1"):
        PairRecipe(joint_stage=StageSettings(batch_size=0)).check()
    with pytest.raises(TrainingError, match="has no \\{text\\}"):
        PairRecipe(query_template="Query:").check()
    assert PairRecipe().matryoshka_dims(256, 2560) == (256, 512, 1024, 2048, 2560)
    with pytest.raises(TrainingError, match="must include the target dimension 100"):
        PairRecipe(mrl_dims=(64, 128)).matryoshka_dims(100, 128)


# --- CLI ----------------------------------------------------------------------------------------

def test_cli_trains_a_pair_and_prints_the_run_command(tiny_bert: Path, tiny_decoder: Path,
                                                      tmp_path: Path, capsys) -> None:
    from medteb.cli import main

    (tmp_path / "texts.txt").write_text("\n".join(TEXTS) + "\n", encoding="utf-8")
    assert main(["train", "alignment-data", str(tmp_path / "texts.txt"), "-o",
                 str(tmp_path / "align.jsonl")]) == 0
    assert capsys.readouterr().out == f"8 alignment texts written to {tmp_path / 'align.jsonl'}\n"
    (tmp_path / "train.jsonl").write_text("".join(
        json.dumps({"query": t.query, "pos": list(t.positives), "neg": list(t.negatives)},
                   ensure_ascii=False) + "\n" for t in TRIPLETS), encoding="utf-8")
    out = tmp_path / "pair"
    argv = ["train", "pair", "--query-model", str(tiny_bert), "--document-model",
            str(tiny_decoder), "--alignment-data", str(tmp_path / "align.jsonl"),
            "--train-data", str(tmp_path / "train.jsonl"), "-o", str(out), "--dim", "48",
            "--lora-rank", "4", "--lora-alpha", "8", "--query-max-length", "32",
            "--document-max-length", "32", "--precision", "fp32", "-v", "0",
            *[flag for stage in ("document", "alignment", "joint")
              for flag in (f"--{stage}-batch-size", "4", f"--{stage}-max-steps", "2")]]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert f"--query-model {out / 'query'} --document-model {out / 'document'} " \
           "--document-pooling last-token --truncate-dim 48 --no-instructions" in printed
    pair = json.loads((out / "medteb_pair.json").read_text(encoding="utf-8"))
    assert pair["query"]["projection"] is True and pair["mrl_dims"] == [48, 64]
    assert '"lora_rank": 4' in (out / "README.md").read_text("utf-8")

    # the printed command runs as it is (on the bundled sample here)
    command = next(line.strip() for line in printed.splitlines() if line.strip().startswith(
        "medteb run"))
    argv = [*shlex.split(command)[1:-2], "--data-dir", "sample", "-t", "MedTEB-Retrieval",
            "--output-folder", str(tmp_path / "results"), "--no-document-store", "-v", "0"]
    assert main(argv) == 0
    assert "MedTEB-Retrieval" in capsys.readouterr().out


def test_cli_reports_bad_training_data(tmp_path: Path, capsys) -> None:
    from medteb.cli import main

    (tmp_path / "a.txt").write_text("头痛\n", encoding="utf-8")
    code = main(["train", "pair", "--query-model", str(tmp_path), "--document-model",
                 str(tmp_path), "--alignment-data", str(tmp_path / "a.txt"), "--train-data",
                 str(tmp_path / "none.jsonl"), "-o", str(tmp_path / "out")])
    assert code == 2
    assert "none.jsonl does not exist; give a triplet .jsonl file" in capsys.readouterr().err


def test_half_precision_needs_a_gpu_and_pairs_need_their_file(tmp_path: Path) -> None:
    from medteb.train.loop import resolve_precision
    from medteb.train.pair import load_pair_spec

    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    assert resolve_precision("auto") == "fp32"
    with pytest.raises(TrainingError, match="precision bf16 needs a CUDA GPU; use fp32"):
        resolve_precision("bf16")
    with pytest.raises(TrainingError, match="holds no medteb_pair.json; is it a `medteb train`"):
        load_pair_spec(tmp_path)


def test_cli_prepares_a_document_encoder_once_for_later_pairs(tiny_bert: Path, tiny_decoder: Path,
                                                              tmp_path: Path, capsys) -> None:
    from medteb.cli import main

    (tmp_path / "train.jsonl").write_text("".join(
        json.dumps({"query": t.query, "pos": list(t.positives), "neg": list(t.negatives)},
                   ensure_ascii=False) + "\n" for t in TRIPLETS), encoding="utf-8")
    small = ["--lora-rank", "4", "--lora-alpha", "8", "--document-max-length", "32",
             "--precision", "fp32", "-v", "0"]
    base = ["train", "document", "--document-model", str(tiny_decoder), "--train-data",
            str(tmp_path / "train.jsonl"), "-o", str(tmp_path / "doc"), *small,
            "--document-batch-size", "4", "--document-max-steps", "2"]
    assert main(base) == 2
    assert "give --dim (the query encoder's dimension) or --mrl-dims" in capsys.readouterr().err
    assert main([*base, "--dim", "32"]) == 0
    assert "--skip-document-stage" in capsys.readouterr().out
    prepared = tmp_path / "doc" / "document"
    stage = json.loads((prepared / "stage.json").read_text(encoding="utf-8"))
    assert stage["extra"]["mrl_dims"] == [32, 64] and stage["log"]["steps"] == 2

    (tmp_path / "texts.txt").write_text("\n".join(TEXTS) + "\n", encoding="utf-8")
    out = tmp_path / "pair"
    assert main(["train", "pair", "--query-model", str(tiny_bert), "--document-model",
                 str(prepared), "--skip-document-stage", "--alignment-data",
                 str(tmp_path / "texts.txt"), "--train-data", str(tmp_path / "train.jsonl"),
                 "-o", str(out), "--query-max-length", "32", *small,
                 *[flag for stage in ("alignment", "joint")
                   for flag in (f"--{stage}-batch-size", "4", f"--{stage}-max-steps", "2")]]) == 0
    assert "--truncate-dim 32" in capsys.readouterr().out
    pair = json.loads((out / "medteb_pair.json").read_text(encoding="utf-8"))
    assert pair["mrl_dims"] == [32, 64] and pair["query"]["projection"] is False
    assert not (out / "stages" / "document").exists()
