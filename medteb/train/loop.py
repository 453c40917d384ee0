"""The optimisation loop shared by every stage: AdamW, linear warm-up and decay, checkpoints.

``accelerate`` places the work on the device and supplies mixed precision (bf16 where the GPU
supports it, else fp16 with loss scaling; fp32 on CPU). Checkpoints hold only what changes —
the trainable weights (the query encoder, LoRA adapters), optimiser, scheduler, loss scaler and
random-number states — written atomically every ``checkpoint_every`` steps; a stage started
again with ``resume=True`` continues from the newest one and ends with the same weights as an
uninterrupted run (the batch order is a function of the seed and the step).
"""

from __future__ import annotations

import json
import math
import os
import random
import shutil
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from medteb.errors import TrainingError

if TYPE_CHECKING:
    from torch import Tensor, nn

PRECISIONS = ("auto", "fp32", "bf16", "fp16")


@dataclass(frozen=True)
class StageSettings:
    """Optimisation settings of one stage (defaults: the paper's Table 20, except the batch).

    Attributes:
        learning_rate: peak learning rate (AdamW), one for both encoders (paper: 1e-4).
        epochs: passes over the data (paper: 1).
        batch_size: examples per step (paper: 2,560 in Stage I and 640 in Stage II, global).
        warmup_ratio: share of steps with linear warm-up, then linear decay (paper: 0.05).
        temperature: τ of the InfoNCE losses.
        max_steps: stop after this many steps (overrides ``epochs``; the schedule uses it).
        weight_decay: AdamW weight decay.
        max_grad_norm: gradient clipping; 0 disables it.
        checkpoint_every: steps between checkpoints (the last step is always saved).
        log_every: steps between loss reports.
        seed: seeds initialisation, data order and dropout.
        precision: ``auto`` (bf16/fp16 on a GPU, fp32 on CPU), ``fp32``, ``bf16``, ``fp16``.
        gradient_checkpointing: trade compute for memory in the transformer layers.
    """

    learning_rate: float = 1e-4
    epochs: int = 1
    batch_size: int = 32
    warmup_ratio: float = 0.05
    temperature: float = 0.05
    max_steps: int | None = None
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    checkpoint_every: int = 500
    log_every: int = 10
    seed: int = 0
    precision: str = "auto"
    gradient_checkpointing: bool = False

    def check(self, stage: str) -> None:
        """Raise :class:`TrainingError` for settings that cannot work."""
        problems = []
        for name in ("epochs", "batch_size", "checkpoint_every", "log_every"):
            if getattr(self, name) < 1:
                problems.append(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.max_steps is not None and self.max_steps < 1:
            problems.append(f"max_steps must be at least 1, got {self.max_steps}")
        if not self.learning_rate > 0:
            problems.append(f"learning_rate must be positive, got {self.learning_rate}")
        if not self.temperature > 0:
            problems.append(f"temperature must be positive, got {self.temperature}")
        if not 0 <= self.warmup_ratio < 1:
            problems.append(f"warmup_ratio must be in [0, 1), got {self.warmup_ratio}")
        if self.precision not in PRECISIONS:
            problems.append(f"precision must be one of {', '.join(PRECISIONS)}, got "
                            f"{self.precision!r}")
        if problems:
            raise TrainingError(f"{stage} settings: " + "; ".join(problems))


@dataclass
class StageLog:
    """What a stage did: steps run, its loss per step, wall time, where it resumed from."""

    stage: str
    steps: int
    losses: list[float] = field(default_factory=list)
    seconds: float = 0.0
    resumed_from: int = 0
    precision: str = "fp32"

    def to_dict(self) -> dict[str, Any]:
        first = self.losses[: max(1, len(self.losses) // 10)]
        last = self.losses[-max(1, len(self.losses) // 10):]
        return {"stage": self.stage, "steps": self.steps, "seconds": round(self.seconds, 1),
                "resumed_from": self.resumed_from, "precision": self.precision,
                "first_loss": round(sum(first) / len(first), 4) if first else None,
                "last_loss": round(sum(last) / len(last), 4) if last else None}


def resolve_precision(precision: str) -> str:
    """``auto`` -> ``bf16`` on a GPU that supports it, ``fp16`` on other GPUs, ``fp32`` on CPU."""
    import torch

    if precision != "auto":
        if precision != "fp32" and not torch.cuda.is_available():
            raise TrainingError(f"precision {precision} needs a CUDA GPU; use fp32 (or auto) "
                                "on CPU")
        return precision
    if not torch.cuda.is_available():
        return "fp32"
    return "bf16" if torch.cuda.is_bf16_supported() else "fp16"


def batch_indices(n_examples: int, batch_size: int, seed: int, step: int) -> list[int]:
    """The examples of ``step``: epoch ``e`` is a permutation seeded by ``seed + e``, cut into
    batches (the last may be short). A function of the step, so a resumed run sees the same."""
    import torch

    per_epoch = math.ceil(n_examples / batch_size)
    epoch, position = divmod(step, per_epoch)
    order = torch.randperm(n_examples, generator=torch.Generator().manual_seed(seed + epoch))
    return order[position * batch_size: (position + 1) * batch_size].tolist()


def total_steps(n_examples: int, settings: StageSettings) -> int:
    if settings.max_steps is not None:
        return settings.max_steps
    return settings.epochs * math.ceil(n_examples / settings.batch_size)


def run_stage(stage: str, trainable: Mapping[str, nn.Module], n_examples: int,
              loss_fn: Callable[[list[int], int], Tensor], settings: StageSettings,
              checkpoint_dir: str | Path | None = None, resume: bool = True,
              on_progress: Callable[[str], None] | None = None,
              on_step: Callable[[int, float], None] | None = None,
              show_progress: bool = True) -> StageLog:
    """Optimise the trainable parameters of ``trainable`` on ``loss_fn`` for one stage.

    Args:
        stage: a name for messages and checkpoints.
        trainable: named modules whose ``requires_grad`` parameters are optimised (others are
            left alone); they are put in training mode.
        n_examples: the size of the data ``loss_fn`` indexes.
        loss_fn: ``(example indices, step) -> scalar loss``; called under autocast.
        settings: see :class:`StageSettings`.
        checkpoint_dir: where checkpoints go (``step-<n>/state.pt``); None disables them.
        resume: continue from the newest checkpoint in ``checkpoint_dir`` if there is one.
        on_progress: receives a line every ``log_every`` steps (step, loss, learning rate).
        on_step: called after each step (and its checkpoint) with the step number and loss.

    Raises:
        TrainingError: bad settings, no trainable parameter, or a checkpoint from other
            settings.
    """
    import torch
    from tqdm.auto import tqdm

    run = _set_up(stage, trainable, n_examples, settings)
    log = StageLog(stage, run.steps, precision=run.precision)
    fingerprint = {"stage": stage, "n_examples": n_examples, "steps": run.steps,
                   "settings": {k: v for k, v in asdict(settings).items()
                                if k not in ("checkpoint_every", "log_every")}}
    folder = Path(checkpoint_dir) if checkpoint_dir is not None else None
    torch.manual_seed(settings.seed)
    start = 0
    if folder is not None and resume:
        start = _resume(folder, run, trainable, fingerprint, log, on_progress)
    began = time.perf_counter()
    bar = tqdm(total=run.steps, initial=start, desc=stage, unit="step",
               disable=not show_progress)
    for step in range(start, run.steps):
        indices = batch_indices(n_examples, settings.batch_size, settings.seed, step)
        value = _step(run, stage, loss_fn, indices, step, settings.max_grad_norm)
        log.losses.append(value)
        bar.update(1)
        bar.set_postfix(loss=f"{value:.4f}")
        done = step + 1
        if on_progress and (done % settings.log_every == 0 or done == run.steps):
            on_progress(f"{stage}: step {done}/{run.steps} loss {value:.4f} "
                        f"lr {run.scheduler.get_last_lr()[0]:.2e}")
        if folder is not None and (done % settings.checkpoint_every == 0 or done == run.steps):
            _save(folder, done, trainable, run.optimizer, run.scheduler, run.accelerator,
                  fingerprint, log)
        if on_step:
            on_step(done, value)
    bar.close()
    log.seconds += time.perf_counter() - began
    for module in trainable.values():
        module.eval()
    return log


@dataclass
class _Optimisation:
    """What one stage optimises with: accelerate's wrapper, the parameters, their optimiser."""

    accelerator: Any
    params: list[Any]
    optimizer: Any
    scheduler: Any
    steps: int
    precision: str


def _set_up(stage: str, trainable: Mapping[str, nn.Module], n_examples: int,
            settings: StageSettings) -> _Optimisation:
    """Check the settings, put the modules in training mode, build AdamW + linear warm-up."""
    import torch
    from accelerate import Accelerator
    from transformers import get_linear_schedule_with_warmup

    settings.check(stage)
    if n_examples < 1:
        raise TrainingError(f"{stage}: no training examples")
    precision = resolve_precision(settings.precision)
    accelerator = Accelerator(mixed_precision="no" if precision == "fp32" else precision,
                              cpu=not torch.cuda.is_available())
    names = sorted(trainable)
    params = [p for n in names for p in trainable[n].parameters() if p.requires_grad]
    if not params:
        raise TrainingError(f"{stage}: nothing to train (no parameter requires gradients)")
    for name in names:
        trainable[name].train()
    steps = total_steps(n_examples, settings)
    optimizer = torch.optim.AdamW(params, lr=settings.learning_rate,
                                  weight_decay=settings.weight_decay)
    scheduler = get_linear_schedule_with_warmup(
        optimizer, math.ceil(settings.warmup_ratio * steps), steps)
    optimizer, scheduler = accelerator.prepare(optimizer, scheduler)
    return _Optimisation(accelerator, params, optimizer, scheduler, steps, precision)


def _resume(folder: Path, run: _Optimisation, trainable: Mapping[str, nn.Module],
            fingerprint: dict[str, Any], log: StageLog,
            on_progress: Callable[[str], None] | None) -> int:
    """Load the newest checkpoint in ``folder`` if any; the step to continue from."""
    latest = latest_checkpoint(folder)
    if latest is None:
        return 0
    start = _load(latest, trainable, run.optimizer, run.scheduler, run.accelerator, fingerprint,
                  log)
    log.resumed_from = start
    if on_progress:
        on_progress(f"{log.stage}: resuming from {latest} (step {start}/{run.steps})")
    return start


def _step(run: _Optimisation, stage: str, loss_fn: Callable[[list[int], int], Tensor],
          indices: list[int], step: int, max_grad_norm: float) -> float:
    """One optimiser step; the loss, refused if it is not finite."""
    with run.accelerator.autocast():
        loss = loss_fn(indices, step)
    run.accelerator.backward(loss)
    if max_grad_norm > 0:
        run.accelerator.clip_grad_norm_(run.params, max_grad_norm)
    run.optimizer.step()
    run.scheduler.step()
    run.optimizer.zero_grad(set_to_none=True)
    value = float(loss.detach())
    if not math.isfinite(value):
        raise TrainingError(f"{stage}: the loss is {value} at step {step + 1}; lower the "
                            "learning rate or use --precision fp32/bf16")
    return value


def latest_checkpoint(folder: str | Path) -> Path | None:
    """The newest complete ``step-<n>`` checkpoint in ``folder``, or None."""
    folder = Path(folder)
    found = [(int(p.name.split("-", 1)[1]), p) for p in folder.glob("step-*")
             if p.name.split("-", 1)[1].isdigit() and (p / "state.pt").is_file()]
    return max(found)[1] if found else None


def _trainable_state(trainable: Mapping[str, nn.Module]) -> dict[str, dict[str, Tensor]]:
    return {name: {k: p.detach().cpu().clone() for k, p in module.named_parameters()
                   if p.requires_grad} for name, module in trainable.items()}


def _save(folder: Path, step: int, trainable: Mapping[str, nn.Module], optimizer: Any,
          scheduler: Any, accelerator: Any, fingerprint: dict, log: StageLog) -> None:
    import numpy as np
    import torch

    target = folder / f"step-{step}"
    target.mkdir(parents=True, exist_ok=True)
    state = {
        "step": step, "fingerprint": fingerprint, "losses": log.losses,
        "seconds": log.seconds, "trainable": _trainable_state(trainable),
        "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
        "scaler": accelerator.scaler.state_dict() if accelerator.scaler else None,
        "rng": {"torch": torch.get_rng_state(), "python": random.getstate(),
                "numpy": np.random.get_state(),
                "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None},
    }
    partial = target / "state.pt.partial"
    torch.save(state, partial)
    os.replace(partial, target / "state.pt")
    (target / "trainer_state.json").write_text(json.dumps(
        {"step": step, **fingerprint, "last_loss": log.losses[-1] if log.losses else None},
        indent=2) + "\n", encoding="utf-8")
    saved = sorted((int(p.name[5:]), p) for p in folder.glob("step-*") if p.name[5:].isdigit())
    for _, older in saved[:-2]:  # keep the newest two
        shutil.rmtree(older, ignore_errors=True)


def _load(path: Path, trainable: Mapping[str, nn.Module], optimizer: Any, scheduler: Any,
          accelerator: Any, fingerprint: dict, log: StageLog) -> int:
    import numpy as np
    import torch

    state = torch.load(path / "state.pt", map_location="cpu", weights_only=False)
    if state["fingerprint"] != fingerprint:
        raise TrainingError(
            f"{path}: this checkpoint was made with other data or settings "
            f"({state['fingerprint']}) than this run ({fingerprint}); use the same settings, "
            "or delete the checkpoint folder (or pass resume=False / --no-resume) to start over")
    for name, module in trainable.items():
        saved = state["trainable"].get(name, {})
        params = dict(module.named_parameters())
        for key, value in saved.items():
            with torch.no_grad():
                params[key].copy_(value.to(params[key].device))
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    if accelerator.scaler and state["scaler"]:
        accelerator.scaler.load_state_dict(state["scaler"])
    rng = state["rng"]
    torch.set_rng_state(rng["torch"])
    random.setstate(rng["python"])
    np.random.set_state(rng["numpy"])
    if rng["cuda"] is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(rng["cuda"])
    log.losses = list(state["losses"])
    log.seconds = float(state["seconds"])
    return int(state["step"])
