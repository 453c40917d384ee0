"""Run the whole recipe and write a pair ``medteb run`` loads: :func:`train_pair`.

Output folder::

    OUT/query/            sentence-transformers folder (pooling + projection, if any)
    OUT/document/         plain transformers folder, LoRA merged (last-token pooling)
    OUT/medteb_pair.json  poolings, truncate dim, template and the `medteb run` command
    OUT/README.md         model card: recipe, data, hyper-parameters, losses
    OUT/stages/           each finished stage's models (a rerun skips finished stages)
    OUT/checkpoints/      the running stage's checkpoints (a rerun resumes from them)
"""

from __future__ import annotations

import json
import shlex
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from medteb._fileio import write_atomic, write_folder
from medteb.errors import TrainingError
from medteb.train.recipe import (
    PAIR_FILE,
    PairRecipe,
    align_query_encoder,
    joint_finetune,
    prepare_document_encoder,
)

if TYPE_CHECKING:
    from medteb.models.asymmetric import AsymmetricSpec
    from medteb.train.data import Triplet
    from medteb.train.encoders import DocumentEncoder
    from medteb.train.loop import StageLog

DONE = "stage.json"


@dataclass
class PairResult:
    """A trained pair: where it is, its dimension, each stage's log and the evaluation command."""

    output: Path
    dim: int
    command: str
    logs: list[StageLog] = field(default_factory=list)


def _write_text(path: Path, text: str) -> None:
    write_atomic(path, text)


def _finished(folder: Path) -> dict[str, Any] | None:
    marker = folder / DONE
    return json.loads(marker.read_text(encoding="utf-8")) if marker.is_file() else None


def pair_name(output: Path, name: str | None = None) -> str:
    """The name a trained pair's results are filed under: ``name``, else ``local/<OUT>``.

    Raises:
        TrainingError: ``name`` does not look like ``organisation/name``.
    """
    from medteb.models.names import slug

    if name is None:
        return f"local/{slug(Path(output).expanduser().resolve().name)}"
    if name.count("/") != 1 or not all(name.split("/")):
        raise TrainingError(f"pair name {name!r} must look like 'organisation/name'")
    return name


def run_command(output: Path, dim: int, recipe: PairRecipe, name: str | None = None) -> str:
    """The ``medteb run`` command that evaluates the pair saved in ``output``."""
    parts = ["medteb", "run", "--query-model", str(output / "query"), "--document-model",
             str(output / "document"), "--document-pooling", "last-token", "--truncate-dim",
             str(dim)]
    if recipe.query_template == "{text}":
        parts.append("--no-instructions")
    else:
        parts += ["--query-template", recipe.query_template]
    parts += ["--query-max-length", str(recipe.query_max_length)]  # as trained, always
    if recipe.document_max_length != 512:
        parts += ["--document-max-length", str(recipe.document_max_length)]
    parts += ["--name", pair_name(output, name)]
    return " ".join(shlex.quote(p) for p in parts) + " --data-dir DIR"


def train_pair(query_model: str, document_model: str, output: str | Path,
               alignment_texts: Sequence[str], triplets: Sequence[Triplet],
               recipe: PairRecipe | None = None,
               document_triplets: Sequence[Triplet] | None = None,
               data_description: Mapping[str, Any] | None = None, resume: bool = True,
               on_progress: Callable[[str], None] | None = None,
               show_progress: bool = True, name: str | None = None) -> PairResult:
    """Train an asymmetric pair with the two-stage recipe and save it for ``medteb run``.

    Args:
        query_model: the small query encoder (sentence-transformers or transformers folder, or
            a Hub name).
        document_model: the large decoder-only document encoder.
        output: the output folder (see the module docstring); created if missing.
        alignment_texts: Stage I texts (:func:`medteb.train.data.alignment_texts`).
        triplets: Stage II (query, positives, negatives) examples.
        recipe: settings (:class:`PairRecipe`); None uses the defaults.
        document_triplets: document-preparation examples; None re-uses ``triplets``.
        data_description: what the data was (sources, counts), recorded in the model card.
        resume: skip finished stages and resume the running one from its newest checkpoint;
            False starts over (removing ``OUT/stages`` and ``OUT/checkpoints``).
        on_progress: receives progress and loss lines.
        name: the name the pair's results are filed under, ``organisation/name`` (default
            ``local/<output folder name>``); recorded in ``medteb_pair.json``, and the sides
            are named ``<name>-query`` and ``<name>-document``.

    Returns:
        A :class:`PairResult` with the ``medteb run`` command to evaluate the pair.

    Raises:
        TrainingError: bad settings or data; UnknownModelError: a model cannot be loaded.
    """
    from medteb.train import require_training_extras
    from medteb.train.encoders import DocumentEncoder, QueryEncoder

    require_training_extras()
    recipe = recipe or PairRecipe()
    recipe.check()
    name = pair_name(Path(output), name)
    if not alignment_texts:
        raise TrainingError("Stage I needs alignment texts; none were given")
    if not triplets:
        raise TrainingError("Stage II needs training triplets; none were given")
    say = on_progress or (lambda _line: None)
    out = Path(output).expanduser()
    stages, checkpoints = out / "stages", out / "checkpoints"
    if not resume:
        shutil.rmtree(stages, ignore_errors=True)
        shutil.rmtree(checkpoints, ignore_errors=True)
    stages.mkdir(parents=True, exist_ok=True)
    from medteb.models.sides import default_device

    device = default_device(recipe.device)
    logs: list[StageLog] = []
    common = {"resume": resume, "on_progress": say, "show_progress": show_progress}

    # 0. document-encoder preparation (LoRA + MRL), merged and kept
    prepared = stages / "document"
    document_source = _prepare_documents(query_model, document_model, prepared,
                                         document_triplets or triplets, recipe, device,
                                         checkpoints, logs, common)
    # 1. Stage I: query-encoder alignment, document encoder frozen
    aligned = stages / "alignment"
    document = DocumentEncoder.load(document_source, recipe.document_max_length, device,
                                    recipe.document_dtype)
    _align(query_model, document, aligned, alignment_texts, recipe, device, checkpoints, logs,
           common)
    query = QueryEncoder.load(str(aligned), None, recipe.query_pooling,
                              recipe.query_max_length, device)
    for parameter in document.model.parameters():
        parameter.requires_grad_(True)

    # 2. Stage II: joint fine-tuning (query encoder + document LoRA), one learning rate
    say(f"Stage II (joint fine-tuning): {len(triplets)} triplets")
    logs.append(joint_finetune(query, document, triplets, recipe, checkpoints / "joint",
                               **common))
    dim = query.dim
    document.merge_lora()
    write_folder(out / "query", query.save)
    write_folder(out / "document", document.save)
    command = _save_pair(out, name, query_model, document_model, dim, recipe, logs,
                         data_description or {}, aligned, prepared)
    say(f"saved the pair to {out}; evaluate it with:\n  {command}")
    return PairResult(out, dim, command, logs)


def _save_pair(out: Path, name: str, query_model: str, document_model: str, dim: int,
               recipe: PairRecipe, logs: list[StageLog], data_description: Mapping[str, Any],
               aligned: Path, prepared: Path) -> str:
    """Write ``medteb_pair.json`` and the model card; the ``medteb run`` command of the pair."""
    command = run_command(out, dim, recipe, name)
    projected = bool((_finished(aligned) or {}).get("extra", {}).get("projected"))
    mrl = (_finished(prepared) or _finished(Path(document_model).expanduser())
           or {}).get("extra", {}).get("mrl_dims")  # from a `train document` folder too
    pair = {
        "name": name,
        "query": {"path": "query", "pooling": "auto", "max_length": recipe.query_max_length,
                  "base_model": query_model, "projection": projected},
        "document": {"path": "document", "pooling": "last-token",
                     "max_length": recipe.document_max_length, "base_model": document_model},
        "truncate_dim": dim, "query_template": recipe.query_template,
        "mrl_dims": mrl, "command": command,
    }
    _write_text(out / PAIR_FILE, json.dumps(pair, ensure_ascii=False, indent=2) + "\n")
    from medteb.train.card import model_card

    _write_text(out / "README.md", model_card(pair, recipe, logs, data_description))
    return command


def _prepare_documents(query_model: str, document_model: str, prepared: Path,
                       triplets: Sequence[Triplet], recipe: PairRecipe, device: str,
                       checkpoints: Path, logs: list[StageLog], common: dict[str, Any]) -> str:
    """Stage 0 (unless the recipe skips it): the document encoder the later stages load."""
    if recipe.document_stage is None:
        return document_model
    if _finished(prepared) is None:
        dim = recipe.dim or _query_width(query_model, recipe, device)
        logs.append(train_document_encoder(document_model, prepared, triplets, recipe, dim,
                                           checkpoints / "document", **common))
    else:
        logs.append(_stage_log(prepared))
        common["on_progress"](f"document preparation: finished earlier, {prepared}")
    return str(prepared)


def _align(query_model: str, document: DocumentEncoder, aligned: Path,
           alignment_texts: Sequence[str], recipe: PairRecipe, device: str, checkpoints: Path,
           logs: list[StageLog], common: dict[str, Any]) -> None:
    """Stage I: align the query encoder to the frozen document encoder, saved to ``aligned``."""
    from medteb.train.encoders import QueryEncoder

    say = common["on_progress"]
    if _finished(aligned) is not None:
        logs.append(_stage_log(aligned))
        say(f"Stage I (alignment): finished earlier, {aligned}")
        return
    _seed_all(recipe.alignment_stage.seed)
    query = QueryEncoder.load(query_model, recipe.dim, recipe.query_pooling,
                              recipe.query_max_length, device)
    say(f"Stage I (alignment): {query_model} -> {query.dim}-d"
        f"{' (linear projection added)' if query.projected else ''}, "
        f"{len(alignment_texts)} texts")
    log = align_query_encoder(query, document, alignment_texts, recipe,
                              checkpoints / "alignment", **common)
    write_folder(aligned, lambda p, q=query, lg=log: _save_stage(q.save, p, lg,
                                                                {"projected": q.projected}))
    logs.append(log)


def train_document_encoder(document_model: str, output: str | Path,
                           triplets: Sequence[Triplet], recipe: PairRecipe, dim: int,
                           checkpoint_dir: str | Path | None = None, resume: bool = True,
                           on_progress: Callable[[str], None] | None = None,
                           show_progress: bool = True) -> StageLog:
    """Document-encoder preparation on its own: LoRA + Matryoshka InfoNCE, merged and saved.

    ``output`` becomes a plain transformers folder (LoRA merged) with ``stage.json``; pass it to
    :func:`train_pair` as ``document_model`` with ``recipe.document_stage=None``
    (``--skip-document-stage``) to train any number of query encoders against it.

    Args:
        dim: the target (query) dimension; the Matryoshka dimensions are
            :meth:`PairRecipe.matryoshka_dims` of it.
        checkpoint_dir: where the running stage checkpoints; None disables checkpoints.
    """
    from medteb.train import require_training_extras
    from medteb.train.encoders import DocumentEncoder

    require_training_extras()
    recipe.check()
    if not triplets:
        raise TrainingError("document preparation needs training triplets; none were given")
    say = on_progress or (lambda _line: None)
    say(f"document preparation: {document_model} (LoRA rank {recipe.lora_rank}, "
        f"alpha {recipe.lora_alpha})")
    from medteb.models.sides import default_device

    document = DocumentEncoder.load(document_model, recipe.document_max_length,
                                    default_device(recipe.device), recipe.document_dtype)
    dims = recipe.matryoshka_dims(dim, document.dim)
    say(f"document preparation: Matryoshka dimensions {list(dims)}")
    log = prepare_document_encoder(document, triplets, recipe, dims, checkpoint_dir, resume,
                                   say, None, show_progress)
    document.merge_lora()
    Path(output).expanduser().parent.mkdir(parents=True, exist_ok=True)
    write_folder(Path(output).expanduser(),
                 lambda p: _save_stage(document.save, p, log, {"mrl_dims": list(dims)}))
    return log


def _query_width(query_model: str, recipe: PairRecipe, device: str) -> int:
    """The query encoder's output width (its projection's, if ``recipe.dim`` is set)."""
    if recipe.dim is not None:
        return recipe.dim
    from medteb.train.encoders import QueryEncoder

    return QueryEncoder.load(query_model, None, recipe.query_pooling, recipe.query_max_length,
                             "cpu").dim


def _seed_all(seed: int) -> None:
    import random

    import torch

    random.seed(seed)
    torch.manual_seed(seed)


def _save_stage(save: Callable[[Path], None], folder: Path, log: StageLog,
                extra: dict[str, Any]) -> None:
    save(folder)
    (folder / DONE).write_text(json.dumps({"log": log.to_dict(), "losses": log.losses,
                                           "extra": extra}, indent=2) + "\n", encoding="utf-8")


def _stage_log(folder: Path) -> StageLog:
    from medteb.train.loop import StageLog

    saved = _finished(folder) or {}
    info = saved.get("log", {})
    return StageLog(info.get("stage", folder.name), int(info.get("steps", 0)),
                    list(saved.get("losses", [])), float(info.get("seconds", 0.0)),
                    int(info.get("resumed_from", 0)), info.get("precision", "fp32"))


def load_pair_spec(output: str | Path, **overrides: Any) -> AsymmetricSpec:
    """The :class:`~medteb.models.asymmetric.AsymmetricSpec` of a pair :func:`train_pair` saved.

    Args:
        output: the training output folder (with ``medteb_pair.json``).
        overrides: other ``AsymmetricSpec`` fields (``store``, ``use_store``, ``name``...).
    """
    from medteb.models.asymmetric import AsymmetricSpec
    from medteb.models.sides import SideConfig

    out = Path(output).expanduser()
    path = out / PAIR_FILE
    if not path.is_file():
        raise TrainingError(f"{out} holds no {PAIR_FILE}; is it a `medteb train` output folder?")
    pair = json.loads(path.read_text(encoding="utf-8"))
    query, document = pair["query"], pair["document"]
    return AsymmetricSpec(
        query=SideConfig(str(out / query["path"]), pooling=query["pooling"],
                         max_length=query["max_length"]),
        document=SideConfig(str(out / document["path"]), pooling=document["pooling"],
                            max_length=document["max_length"]),
        truncate_dim=pair["truncate_dim"], query_template=pair["query_template"],
        **{"name": pair.get("name"), **overrides})
