"""End to end on real text: Stage I + II on cEpilepsyQA dev beat the untrained tiny pair on test.

Tiny random models are built from cEpilepsyQA's own text (a character-level one-layer BERT for
queries, a one-layer Qwen2 with a byte-level BPE for documents); training uses the dev split's
(question, answer, other candidates) triplets and its texts, evaluation a 100-query subset of the
disjoint test split through ``medteb.evaluation.runner.run`` (MedTEB-Retrieval, nDCG@10).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("peft")
pytest.importorskip("accelerate")

from tests.train_helpers import (
    cepilepsy_texts,
    retrieval_subset,
    tiny_document_decoder,
    tiny_query_bert,
)

MARGIN = 0.02  # measured: 0.044 untrained -> ~0.10 trained (docs/training.md)


@pytest.fixture
def one_thread():
    """Two shared cores: one intra-op thread avoids oversubscription stalls under load."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_two_stage_recipe_beats_the_untrained_pair(shared_data: Path, cepilepsy_dirs: Path,
                                                   tmp_path: Path, one_thread: None) -> None:
    from transformers import AutoModel

    from medteb.benchmark.data.cmedqa import import_cmedqa_release
    from medteb.evaluation.runner import RunConfig, run
    from medteb.models.asymmetric import AsymmetricSpec
    from medteb.models.sides import SideConfig
    from medteb.train.data import read_triplets
    from medteb.train.loop import StageSettings
    from medteb.train.pair import load_pair_spec, train_pair
    from medteb.train.recipe import PairRecipe

    source = shared_data / "cEpilepsyQA"
    texts = cepilepsy_texts(source)
    query_model = tiny_query_bert(texts, tmp_path).parent / "raw-bert"  # plain BERT, mean pooled
    document_model = tiny_document_decoder(texts, tmp_path)
    import_cmedqa_release(source, tmp_path / "dev", split="dev")
    triplets = read_triplets(tmp_path / "dev")  # 490 questions, 1 answer + 9 candidates each
    alignment = list(dict.fromkeys([t.query for t in triplets]
                                   + [t.positives[0] for t in triplets]))
    evaluation = retrieval_subset(cepilepsy_dirs / "MedTEB-Retrieval", tmp_path / "eval", 100)

    def ndcg(spec: AsymmetricSpec, name: str) -> float:
        report = run(RunConfig(model=spec, tasks=["MedTEB-Retrieval"], data_dir=evaluation,
                               output_folder=tmp_path / name, show_progress=False))
        return report.outcomes[0].score

    untrained = ndcg(AsymmetricSpec(
        query=SideConfig(str(query_model), pooling="mean", max_length=64),
        document=SideConfig(str(document_model), pooling="last-token", max_length=64),
        truncate_dim=32, query_template="{text}", use_store=False), "untrained")

    def stage(steps: int, batch: int) -> StageSettings:
        return StageSettings(batch_size=batch, max_steps=steps, learning_rate=5e-3,
                             precision="fp32", log_every=20)

    recipe = PairRecipe(query_pooling="mean", query_max_length=64, document_max_length=64,
                        lora_rank=8, lora_alpha=16, document_stage=stage(5, 16),
                        alignment_stage=stage(40, 32), joint_stage=stage(80, 32))
    lines: list[str] = []
    out = tmp_path / "pair"
    result = train_pair(str(query_model), str(document_model), out, alignment, triplets, recipe,
                        data_description={"training": "cEpilepsyQA dev"},
                        on_progress=lines.append, show_progress=False)
    trained = ndcg(load_pair_spec(out, use_store=False), "trained")
    print(f"\nnDCG@10 untrained {untrained:.5f} -> trained {trained:.5f}; training "
          f"{sum(log.seconds for log in result.logs):.1f} s")
    assert trained > untrained + MARGIN

    # the saved pair: what `medteb run` needs, a model card, the command printed at the end
    pair = json.loads((out / "medteb_pair.json").read_text(encoding="utf-8"))
    assert pair["truncate_dim"] == result.dim == 32 and pair["document"]["pooling"] == "last-token"
    assert (out / "query" / "modules.json").is_file()
    assert not list((out / "document").glob("adapter_*"))  # LoRA merged
    AutoModel.from_pretrained(out / "document")  # plain transformers
    card = (out / "README.md").read_text(encoding="utf-8")
    assert "Stage I: query-encoder alignment" in card and "cEpilepsyQA dev" in card
    assert "--document-pooling last-token --truncate-dim 32 --no-instructions" in result.command
    assert result.command in lines[-1]
    assert [log.stage for log in result.logs] == ["document", "alignment", "joint"]

    # a second call resumes: finished stages are skipped, Stage II is at its last checkpoint
    lines.clear()
    again = train_pair(str(query_model), str(document_model), out, alignment, triplets, recipe,
                       on_progress=lines.append, show_progress=False)
    assert any("finished earlier" in line for line in lines)
    assert again.logs[-1].resumed_from == 80
