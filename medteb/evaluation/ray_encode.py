"""Encode documents on Ray workers into the document store (``--ray``): the driver's side.

The driver (the process the user runs) never loads the document encoder. It starts one Ray actor
per worker (:class:`~medteb.evaluation.ray_worker.ShardWorker`, what runs in the workers); each
actor loads the encoder **once** and reports its identity (the encoder key of
the :class:`~medteb.models.document_store.DocumentStore`). The driver then lists the distinct
documents the store does not hold yet, cuts them into the store's shards
(:meth:`DocumentStore.shards`, the cut a single-process run makes) and hands shards out, two in
flight per worker. Workers return vectors; **only the driver writes**, one atomic shard file per
finished shard, named by the hash of its texts. Hence:

- concurrent writers cannot clash: workers never touch the store, and even two drivers racing
  on one store only ever rename whole files into it (a shard both encode gets one name);
- a worker that dies (its process killed, its node lost) loses only its in-flight shards: they go
  back to the queue and are redone by another worker, and a replacement worker is started. A
  shard is written once, when its vectors arrive, so no text is stored twice;
- an interrupted driver loses only in-flight shards: a rerun finds the finished ones in the store
  and encodes only what is missing, cut into the same shards.

Vectors are the single-process ones: a shard holds the same texts in the same order and each
worker encodes it with the same batch size, so the batches (and their padding) are the same. On
CPU the test suite checks the stores are bit-identical; on GPUs, kernels may differ by device
model or library version, as between any two runs (see docs/distributed_encoding.md).
"""

from __future__ import annotations

import collections
import contextlib
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from medteb._vectors import require_finite
from medteb.errors import MedtebError
from medteb.evaluation.ray_worker import DocumentSideRecipe, ShardWorker

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from medteb.evaluation.ray_worker import EncoderRecipe
    from medteb.models.document_store import DocumentStore, EncoderIdentity, EntryKey

logger = logging.getLogger(__name__)

IN_FLIGHT_PER_WORKER = 2  # one shard encoding, one waiting: no worker idles between shards
RELEASE_WAIT_S = 10.0  # Ray frees a killed actor's CPUs/GPUs a moment after ray.kill returns
_last_release = [0.0]  # when this process last killed its workers


class RayEncodeError(MedtebError, RuntimeError):
    """Ray is missing, the cluster cannot host the workers, or the workers cannot encode."""


@dataclass(frozen=True)
class RaySettings:
    """Where and how wide to encode.

    Attributes:
        address: an existing cluster (``ray://host:10001``, ``auto``); None starts a local Ray
            (or uses the one this process already started).
        workers: how many actors; None means one per ``gpus_per_worker`` GPUs, or one on CPUs.
        gpus_per_worker: GPUs per actor (fractions share a GPU); None means 1 when the cluster
            has GPUs, else 0 (CPU workers share the cluster's CPUs equally).
        max_replacements: how many dead workers may be replaced before the run gives up.
    """

    address: str | None = None
    workers: int | None = None
    gpus_per_worker: float | None = None
    max_replacements: int | None = None

    def check(self) -> None:
        if self.workers is not None and self.workers < 1:
            raise RayEncodeError(f"--ray-workers must be at least 1, got {self.workers}")
        if self.gpus_per_worker is not None and self.gpus_per_worker < 0:
            raise RayEncodeError(f"--ray-gpus-per-worker cannot be negative, got "
                                 f"{self.gpus_per_worker}")


@dataclass(frozen=True)
class ShardRequest:
    """Texts of one store entry that must all end up stored (repeats and stored ones are fine).

    ``context`` goes with every shard to the worker's encoder: the
    :class:`~medteb.models.sides.EncodeContext` a side loaded as under ``-m`` needs.
    """

    entry: EntryKey
    texts: Sequence[str]
    context: Any = None


@dataclass
class RayEncodeReport:
    """What a :meth:`RayEncoderPool.fill` did: texts encoded per request, shards, redone work."""

    encoded: list[int] = field(default_factory=list)
    shards: int = 0
    redone_shards: int = 0
    replaced_workers: int = 0


def _import_ray() -> Any:
    try:
        import ray
    except ImportError as err:
        raise RayEncodeError("--ray needs Ray: pip install 'medteb[ray]'") from err
    return ray


@dataclass
class _Slot:
    actor: Any
    busy: int = 0
    dead: bool = False


class RayEncoderPool:
    """Ray actors that each hold one loaded encoder; use as a context manager.

    Example:
        >>> recipe = DocumentSideRecipe(SideConfig("./qwen3-4b"), batch_size=32)  # doctest: +SKIP
        >>> with RayEncoderPool(recipe, RaySettings(workers=8)) as pool:           # doctest: +SKIP
        ...     report = pool.fill(store, [ShardRequest(entry, texts)])
    """

    def __init__(self, recipe: EncoderRecipe, settings: RaySettings,
                 on_progress: Callable[[str], None] = logger.info) -> None:
        settings.check()
        self.recipe, self.settings, self.on_progress = recipe, settings, on_progress
        self.slots: list[_Slot] = []
        self._started_ray = False
        self._identity: EncoderIdentity | None = None

    # --- lifecycle -----------------------------------------------------------------------
    def __enter__(self) -> RayEncoderPool:
        ray = _import_ray()
        if not ray.is_initialized():
            try:
                ray.init(address=self.settings.address, include_dashboard=False,
                         logging_level=logging.WARNING)
            except (ConnectionError, RuntimeError, ValueError) as err:
                where = self.settings.address or "a local Ray"
                raise RayEncodeError(f"cannot start or join {where}: {err}") from err
            self._started_ray = True
        try:
            self._plan(ray)
            self._identity = self._await_identities(ray)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        ray = _import_ray()
        for slot in self.slots:
            if not slot.dead:
                ray.kill(slot.actor)
        self.slots = []
        _last_release[0] = time.monotonic()
        if self._started_ray:
            ray.shutdown()
            self._started_ray = False

    def _plan(self, ray: Any) -> None:
        total = ray.cluster_resources()
        per_gpu = self.settings.gpus_per_worker
        per_gpu = (1.0 if total.get("GPU", 0) >= 1 else 0.0) if per_gpu is None else per_gpu
        per_gpu = float(per_gpu)
        workers = self.settings.workers or (
            max(1, int(total.get("GPU", 0) // per_gpu)) if per_gpu else 1)
        per_cpu_wanted = 1 if per_gpu else max(1, int(total.get("CPU", 0) // workers))
        while True:  # what other jobs (or our own workers, just killed) leave free
            resources = ray.available_resources()
            gpus, cpus = float(resources.get("GPU", 0)), float(resources.get("CPU", 0))
            if ((gpus >= workers * per_gpu and cpus >= workers * per_cpu_wanted)
                    or time.monotonic() > _last_release[0] + RELEASE_WAIT_S):
                break
            time.sleep(0.2)
        if per_gpu and workers * per_gpu > gpus:
            raise RayEncodeError(f"{workers} workers x {per_gpu:g} GPUs need "
                                 f"{workers * per_gpu:g} GPUs; the Ray cluster has {gpus:g} "
                                 "free (see --ray-workers and --ray-gpus-per-worker)")
        per_cpu = 1 if per_gpu else max(1, int(cpus // workers))
        if workers * per_cpu > cpus:
            raise RayEncodeError(f"{workers} {'GPU' if per_gpu else 'CPU'} workers need "
                                 f"{workers * per_cpu} CPUs; the Ray cluster has {cpus:g} free "
                                 "(see --ray-workers)")
        self._options = {"num_cpus": per_cpu, "num_gpus": per_gpu, "max_restarts": 0}
        self._device = "cuda" if per_gpu else "cpu"
        self._threads = None if per_gpu else per_cpu
        self.max_replacements = (self.settings.max_replacements
                                 if self.settings.max_replacements is not None else workers)
        self.replaced = 0
        self.on_progress(f"Ray: {workers} worker(s), each {per_gpu:g} GPU(s) and "
                         f"{per_cpu} CPU(s); loading the encoder in each")
        self.slots = [self._start(ray) for _ in range(workers)]

    def _start(self, ray: Any) -> _Slot:
        actor_class = ray.remote(ShardWorker).options(**self._options)
        return _Slot(actor_class.remote(self.recipe, self._device, self._threads))

    def _await_identities(self, ray: Any) -> EncoderIdentity:
        identities = []
        for slot in self.slots:
            try:
                identities.append(ray.get(slot.actor.identity.remote()))
            except ray.exceptions.RayTaskError as err:
                raise _worker_error(err, "a Ray worker cannot load the encoder") from None
            except ray.exceptions.RayActorError as err:
                raise RayEncodeError(f"a Ray worker died while loading the encoder: "
                                     f"{str(err).splitlines()[0]}") from None
        first = identities[0]
        for other in identities[1:]:
            if other.key != first.key:
                raise RayEncodeError(f"Ray workers loaded different encoders ({first} vs "
                                     f"{other}); give every node the same model files")
        return first

    @property
    def identity(self) -> EncoderIdentity:
        """The encoder's store identity, as the workers loaded it."""
        if self._identity is None:
            raise RayEncodeError("the pool is not started; use it in a `with` block")
        return self._identity

    def worker_pids(self) -> list[int]:
        """Process ids of the live workers (the fault tests kill one)."""
        ray = _import_ray()
        return ray.get([s.actor.pid.remote() for s in self.slots if not s.dead])

    # --- work ----------------------------------------------------------------------------
    def fill(self, store: DocumentStore, requests: Sequence[ShardRequest],
             show_progress: bool = True,
             on_shard: Callable[[RayEncodeReport], None] | None = None) -> RayEncodeReport:
        """Encode every text of ``requests`` that ``store`` lacks; the driver writes the shards.

        Args:
            on_shard: called after each shard is written (the tests interrupt or kill here).

        Raises:
            RayEncodeError: a worker's encoder failed, or more workers died than may be
                replaced.
        """
        from tqdm.auto import tqdm

        ray = _import_ray()
        identity = self.identity
        for slot in self.slots:  # shards of an interrupted fill() may still run: not ours now
            slot.busy = 0
        report = RayEncodeReport(encoded=[0] * len(requests))
        queue: collections.deque[tuple[int, list[str]]] = collections.deque()
        for index, request in enumerate(requests):
            missing = store.missing_texts(identity, request.entry, request.texts)
            queue.extend((index, chunk) for chunk in store.shards(missing))
        total = sum(len(chunk) for _, chunk in queue)
        contexts = [ray.put(request.context) for request in requests]  # sent once each
        in_flight: dict[Any, tuple[_Slot, int, list[str]]] = {}
        live = sum(not s.dead for s in self.slots)
        with tqdm(total=total, disable=not show_progress, unit="doc",
                  desc=f"Encoding documents on {live} Ray worker(s)") as bar:
            while queue or in_flight:
                for slot in self.slots:
                    while queue and not slot.dead and slot.busy < IN_FLIGHT_PER_WORKER:
                        index, chunk = queue.popleft()
                        in_flight[slot.actor.encode.remote(chunk, contexts[index],
                                                           identity.key)] = (
                            slot, index, chunk)
                        slot.busy += 1
                if not in_flight:
                    raise RayEncodeError("no live Ray worker is left to encode the remaining "
                                         f"{sum(len(c) for _, c in queue)} documents")
                (ref,), _ = ray.wait(list(in_flight), num_returns=1)
                slot, index, chunk = in_flight.pop(ref)
                slot.busy -= 1
                try:
                    vectors = ray.get(ref)
                except (ray.exceptions.RayActorError, ray.exceptions.ObjectLostError) as err:
                    # the worker, or the node holding its answer, is gone: redo the shard
                    queue.appendleft((index, chunk))
                    report.redone_shards += 1
                    self._replace(ray, slot, err, report)
                    continue
                except ray.exceptions.RayTaskError as err:
                    raise _worker_error(err, "a Ray worker failed to encode a shard of "
                                             f"{requests[index].entry.task}") from None
                require_finite(vectors, f"a Ray worker encoding {identity.name}")
                store.add(identity, requests[index].entry, chunk, vectors,
                          keep_in_memory=False)
                report.encoded[index] += len(chunk)
                report.shards += 1
                bar.update(len(chunk))
                if on_shard is not None:
                    on_shard(report)
        return report

    def _replace(self, ray: Any, slot: _Slot, err: Exception, report: RayEncodeReport) -> None:
        if slot.dead:
            return  # its other in-flight shards fail too; it was replaced once
        slot.dead = True
        with contextlib.suppress(Exception):  # alive if only its answer was lost: free it
            ray.kill(slot.actor)
        if self.replaced >= self.max_replacements:
            raise RayEncodeError(f"{self.replaced + 1} Ray workers died (the last: "
                                 f"{str(err).splitlines()[0]}); giving up. Finished shards "
                                 "are stored: rerun to resume")
        self.replaced += 1
        report.replaced_workers += 1
        logger.warning("a Ray worker died; its shards go to the others and a new worker starts")
        self.slots.append(self._start(ray))


def _worker_error(err: Any, what: str) -> Exception:
    """A worker's task error as the driver raises it: medteb's own one-line errors as they are,
    anything else as a :class:`RayEncodeError` saying ``what`` failed."""
    cause = err.cause
    if isinstance(cause, MedtebError):
        return cause
    return RayEncodeError(f"{what}: {type(cause).__name__}: {cause}")


def encode_tasks_on_ray(spec: Any, tasks: Sequence[Any], settings: RaySettings,
                        batch_size: int, show_progress: bool,
                        on_progress: Callable[[str], None]) -> list[tuple[str, str, int, int]]:
    """``medteb encode-documents --ray``: every document of ``tasks`` into ``spec``'s store.

    Texts are formatted exactly as the single-process path formats them (the same loader and
    document template), so the entries and text keys are the same.

    Returns:
        ``(task, split, documents, encoded now)`` per task split.
    """
    from mteb.types import PromptType

    from medteb.evaluation.search import document_loader
    from medteb.models.asymmetric import AsymmetricEncoder
    from medteb.models.document_store import DocumentStore, EntryKey, default_store_root
    from medteb.models.kinds import kind_of
    from medteb.models.sides import EncodeContext

    spec.check()
    if not spec.use_store:
        raise RayEncodeError("--ray writes into the document store; do not disable it")
    if kind_of(spec.document.model).served:
        raise RayEncodeError(f"{spec.document.model} is a served model: its endpoint encodes and "
                             "its vectors are kept in its own cache, so --ray does not apply; "
                             "run without --ray")
    store = DocumentStore(spec.store or default_store_root())
    recipe = DocumentSideRecipe(spec.document, spec.document.batch_size or batch_size)
    with RayEncoderPool(recipe, settings, on_progress) as pool:
        formatter = AsymmetricEncoder(spec, None, None, pool.identity, store)
        requests, rows = [], []
        for task in tasks:
            meta = task.metadata
            for subset, splits in task.dataset.items():
                for split in task.eval_splits:
                    if split not in splits:
                        continue
                    corpus = splits[split]["corpus"]
                    texts = [t for batch in document_loader(corpus, meta, batch_size)
                             for t in batch["text"]]
                    texts = formatter.document_texts(texts, meta)
                    requests.append(ShardRequest(
                        EntryKey(task=meta.name, split=split, subset=subset,
                                 dataset_revision=str(meta.revision)), texts,
                        EncodeContext(meta, split, subset, PromptType.document)))
                    rows.append((meta.name, split, len(corpus)))
        on_progress(f"{sum(len(r.texts) for r in requests)} documents in {len(requests)} "
                    "task split(s)")
        report = pool.fill(store, requests, show_progress)
    if report.replaced_workers:
        on_progress(f"Ray: {report.replaced_workers} worker(s) died and were replaced; "
                    f"{report.redone_shards} shard(s) redone")
    return [(*row, encoded) for row, encoded in zip(rows, report.encoded, strict=True)]
