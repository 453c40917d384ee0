"""``medteb run`` and friends, called through ``main(argv)``: outputs, files and every error."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from medteb.cli import main
from tests.conftest import ROOT, copy_seeded_results, write_jsonl, write_qrels


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_default_run_is_the_offline_demo(in_tmp: Path, capsys: pytest.CaptureFixture) -> None:
    """The README's order: the demo in a checkout, then the tests; results/ stays as it was."""
    from tests.test_submit import snapshot

    copy_seeded_results(in_tmp)
    board = (in_tmp / "leaderboard.md").read_bytes()
    before = snapshot(in_tmp / "results")
    assert main([]) == 0
    out, err = capsys.readouterr()
    assert snapshot(in_tmp / "results") == before  # the leaderboard's source is not touched
    assert (in_tmp / "leaderboard.md").read_bytes() == board
    assert "Results written to runs/ (not the leaderboard's results/" in out
    assert "Offline demo" in err and "[1/3] MedTEB-Retrieval" in err
    assert "DEBUG" not in err  # bm25s sets its own logger to DEBUG on import
    assert "SAMPLE DATA" in out
    rows = dict(re.findall(r"^\| (\S+) \| \S+ \| ([\d.]+|skipped) \|", out, re.M))
    assert rows["CMedQAv1-reranking"] == rows["CMedQAv2-reranking"] == "skipped"
    assert "mteb/CMedQAv1-reranking is not in the local Hugging Face cache and the Hub is offline" in out
    retrieval, rerank, sts = (float(rows[n]) for n in ("MedTEB-Retrieval", "MedTEB-Rerank",
                                                         "MedTEB-STS"))
    assert retrieval > 50 and rerank > 50  # BM25 finds lexical answers on the sample
    new_avg = float(re.search(r"\*\*New-task avg\*\* \| \| ([\d.]+)", out).group(1))
    assert new_avg == pytest.approx((retrieval + rerank + sts) / 3, abs=0.01)
    assert "| **Avg** | | – |" in out
    folder = in_tmp / "runs" / "medteb__bm25-zh"
    (revision,) = list(folder.iterdir())
    files = sorted(p.name for p in revision.iterdir())
    assert files == ["MedTEB-Rerank.json", "MedTEB-Retrieval.json", "MedTEB-STS.json",
                     "model_meta.json", "run_manifest.yaml", "run_settings.jsonl"]
    stored = json.loads((revision / "MedTEB-STS.json").read_text())
    assert stored["dataset_revision"].startswith("sample-")
    assert stored["scores"]["test"][0]["main_score"] == pytest.approx(sts / 100, abs=1e-4)


def test_results_readable_by_mteb_loaders(in_tmp: Path, tiny_bert: Path) -> None:
    import mteb
    from mteb.cache import ResultCache

    argv = ["run", "-m", str(tiny_bert), "-t", "MedTEB-Retrieval", "--data-dir", "sample",
            "--batch-size", "8", "-v", "0", "--output-folder", "cache/results"]
    assert main(argv) == 0
    (path,) = list((in_tmp / "cache" / "results" / "local__tiny-bert-zh").glob(
        "*/MedTEB-Retrieval.json"))
    meta = json.loads((path.parent / "model_meta.json").read_text())
    assert meta["name"] == "local/tiny-bert-zh"
    assert meta["n_parameters"] > 0 and meta["embed_dim"] == 32
    assert path.parent.name == meta["revision"]
    # the weights' fingerprint, filed apart from results on benchmark data
    assert re.fullmatch(r"[0-9a-f]{12}-sample", meta["revision"])

    loaded = ResultCache(in_tmp / "cache").load_results(models=["local/tiny-bert-zh"],
                                              tasks=["MedTEB-Retrieval"])
    (model_result,) = loaded.model_results
    assert model_result.task_results[0].task_name == "MedTEB-Retrieval"
    assert model_result.task_results[0].task.metadata.main_score == "ndcg_at_10"
    benchmark = mteb.get_benchmark("MedTEB")
    assert benchmark.tasks[2].metadata.name == "MedTEB-Retrieval"


def test_stale_result_on_other_data_is_recomputed(in_tmp: Path, capsys: pytest.CaptureFixture,
                                                  tmp_path: Path) -> None:
    data = tmp_path / "data" / "MedTEB-STS" / "sts" / "test.jsonl"
    pairs = [{"sentence1": "高血压吃什么药", "sentence2": "血压高吃什么药", "score": 1},
             {"sentence1": "高血压吃什么药", "sentence2": "感冒吃什么药", "score": 0}]
    write_jsonl(data, pairs)
    assert main(["run", "-m", "bm25-zh", "-t", "MedTEB-STS", "--data-dir",
                 str(tmp_path / "data")]) == 0
    write_jsonl(data, [*pairs, {"sentence1": "头痛", "sentence2": "头疼", "score": 1}])
    capsys.readouterr()
    assert main(["run", "-m", "bm25-zh", "-t", "MedTEB-STS", "--data-dir",
                 str(tmp_path / "data")]) == 0
    err = capsys.readouterr().err
    assert "re-evaluating" in err
    (path,) = list((in_tmp / "runs").glob("*/*/MedTEB-STS.json"))
    assert json.loads(path.read_text())["dataset_revision"].startswith("local-")


def make_bad_data(root: Path) -> Path:
    task = root / "MedTEB-Retrieval"
    write_jsonl(task / "corpus.jsonl", [{"_id": "d1", "text": "文"}, {"_id": "d1", "text": "重"}])
    write_jsonl(task / "queries.jsonl", [{"_id": "q1", "text": "问"}])
    write_qrels(task / "qrels" / "test.tsv", [("q1", "d9", 1)])
    return root


def test_bad_data_exits_2_and_writes_nothing(in_tmp: Path, capsys: pytest.CaptureFixture) -> None:
    data = make_bad_data(in_tmp / "data")
    assert main(["run", "-m", "bm25-zh", "-t", "MedTEB-Retrieval", "--data-dir", str(data)]) == 2
    err = capsys.readouterr().err
    (line,) = [x for x in err.splitlines() if x.startswith("medteb: error: ")]  # one line
    assert 'duplicate _id "d1"' in line and 'corpus-id "d9" is not in corpus.jsonl' in line
    assert "Traceback" not in err
    assert not (in_tmp / "runs").exists()


def test_no_data_source_exits_2_plainly(in_tmp: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["run", "-m", "bm25-zh", "-t", "MedTEB-Rerank"]) == 2
    err = capsys.readouterr().err
    assert "the official MedTEB test data has not been published yet" in err
    assert not (in_tmp / "runs").exists()


@pytest.mark.parametrize(("argv", "message"), [
    (["run", "-t", "MedTEB-Retreival"], "unknown task 'MedTEB-Retreival'. Did you mean "
                                        "'MedTEB-Retrieval'?"),
    (["run", "-m", "./no/such/model", "--data-dir", "sample"],
     "model path './no/such/model' does not exist"),
    (["run", "-m", "no-such-org/no-such-model", "-t", "MedTEB-STS", "--data-dir", "sample"],
     "cannot load model 'no-such-org/no-such-model'"),
    (["run", "-b", "MTEB(eng)"], "only 'MedTEB' is available"),
    (["run", "-t", "MedTEB-STS", "--data-dir", "sample", "--eval-splits", "dev"],
     r"none of --eval-splits \['dev'\]"),
])
def test_user_errors_exit_2(in_tmp: Path, capsys: pytest.CaptureFixture, argv: list[str],
                            message: str) -> None:
    assert main(argv) == 2
    assert re.search(message, capsys.readouterr().err)
    assert not (in_tmp / "runs").exists()


def test_folder_without_model_is_refused(in_tmp: Path, capsys: pytest.CaptureFixture) -> None:
    (in_tmp / "empty").mkdir()
    assert main(["run", "-m", str(in_tmp / "empty"), "--data-dir", "sample"]) == 2
    assert "holds no model" in capsys.readouterr().err


def test_help_and_available_tasks(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "--help"])
    assert exit_info.value.code == 0
    help_text = capsys.readouterr().out
    for flag in ("-m", "-t", "-b", "--output-folder", "--batch-size", "--device", "--eval-splits",
                 "--model-revision", "--overwrite-strategy", "--prediction-folder", "-v",
                 "--data-dir"):
        assert f" {flag}" in help_text
    assert main(["available-tasks"]) == 0
    listed = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert listed == ["CMedQAv1-reranking", "CMedQAv2-reranking", "MedTEB-Retrieval",
                      "MedTEB-Rerank", "MedTEB-STS"]


def test_overwrite_choices_match_mteb() -> None:
    from mteb.evaluate import OverwriteStrategy

    from medteb.evaluation.runner import OVERWRITE_STRATEGIES

    assert set(OVERWRITE_STRATEGIES) == {s.value for s in OverwriteStrategy}


def test_readme_promises_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    run_block = readme.split("<!-- setup:run -->", 1)[1].split("```bash\n", 1)[1].split("```")[0]
    test_block = readme.split("<!-- setup:test -->", 1)[1].split("```bash\n", 1)[1].split("```")[0]
    assert run_block.strip().endswith("medteb run")  # exercised by the demo test above
    assert "pip install torch==2.13.0" in run_block and "pytest" in test_block


def test_device_flag_accepts_names_and_indices() -> None:
    from medteb.cli import build_parser

    assert build_parser().parse_args(["run", "--device", "1"]).device == "cuda:1"
    assert build_parser().parse_args(["run", "--device", "cpu"]).device == "cpu"


def test_cli_start_imports_no_heavy_library() -> None:
    """`medteb --help` stays fast, and the demo can switch the Hub offline before it loads."""
    import subprocess
    import sys

    code = ("import sys\nfrom medteb.cli import build_parser\n"
            "from medteb.cli.common import asymmetric_spec\n"
            "assert asymmetric_spec(build_parser().parse_args(['run'])) is None\n"
            "print(sorted(m for m in ('torch', 'mteb', 'huggingface_hub', 'datasets', "
            "'transformers', 'openai', 'peft') if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"


def test_run_refuses_to_write_into_the_leaderboards_results(
        in_tmp: Path, capsys: pytest.CaptureFixture) -> None:
    from tests.test_submit import snapshot

    copy_seeded_results(in_tmp)
    before = snapshot(in_tmp / "results")
    assert main(["run", "--output-folder", "results", "-t", "MedTEB-STS", "-v", "0"]) == 2
    err = capsys.readouterr().err
    assert "results holds leaderboard entries (" in err and "`medteb submit`, the only" in err
    assert snapshot(in_tmp / "results") == before


def test_readme_says_how_a_cpu_only_user_gets_the_cpu_torch() -> None:
    from packaging.specifiers import SpecifierSet

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "pip does not pull a multi-GB CUDA build" not in readme  # PyPI's Linux torch is CUDA
    line = "pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu"
    assert line in readme and "on Linux is the CUDA build" in readme
    assert SpecifierSet("==2.13.0").contains("2.13.0+cpu")  # the README's pin keeps the CPU build


def test_a_fresh_run_with_predictions_does_not_say_it_evaluates_again(tmp_path: Path) -> None:
    """'no saved predictions ...: evaluating again' is said only of a cached result without
    predictions (README: "evaluating again when a cached result has none"), not on a first run."""
    from medteb.evaluation.runner import RunConfig, run

    config = RunConfig(model="bm25-zh", tasks=["MedTEB-STS"], data_dir="sample",
                       output_folder=tmp_path / "runs", prediction_folder=tmp_path / "preds",
                       show_progress=False)
    first: list[str] = []
    run(config, on_progress=first.append)
    assert not [m for m in first if "evaluating again" in m], first
    (written,) = (tmp_path / "preds").glob("*/*/MedTEB-STS_predictions.json")
    written.unlink()  # the result stays cached, its predictions are gone
    again: list[str] = []
    report = run(config, on_progress=again.append)
    assert [m.strip() for m in again if "evaluating again" in m] == [
        f"no saved predictions in {written.parent}: evaluating again to write them"]
    assert written.is_file() and not report.outcomes[0].cached
