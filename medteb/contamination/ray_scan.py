"""``medteb contamination --ray``: the training shards scanned by Ray actors.

The test index is put in Ray's object store once and each actor receives it once, when it
starts; shards are handed to whichever actor is free and their results merged by the driver
(:meth:`ScanResult.merge` keeps the best evidence whatever the order), so the report equals a
single process's.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from medteb.contamination.index import AuditIndex, ContaminationError
from medteb.contamination.scan import ScanResult, scan_shard
from medteb.contamination.training import Shard
from medteb.errors import MedtebError


@dataclass(frozen=True)
class RaySpec:
    """Scan on Ray: ``workers`` actors (default: one per CPU), on ``address`` or a local Ray."""

    workers: int | None = None
    address: str | None = None


class _Scanner:
    """A Ray actor holding the test index."""

    def __init__(self, index: AuditIndex, encoding: str) -> None:
        self.index, self.encoding = index, encoding

    def scan(self, number: int, shard: Shard) -> ScanResult:
        return scan_shard(self.index, number, shard, self.encoding)


def _cause(err: Exception) -> BaseException:
    cause = getattr(err, "cause", None)
    return cause if isinstance(cause, MedtebError) else err


def scan_ray(index: AuditIndex, shards: Sequence[Shard], encoding: str, spec: RaySpec,
             progress: bool = True) -> ScanResult:
    """Scan ``shards`` on ``spec.workers`` Ray actors and merge their results.

    Raises:
        ContaminationError: Ray is missing or cannot start; a worker's error (an unreadable
            training file) as the worker raised it.
    """
    try:
        import ray
        from ray.util import ActorPool
    except ImportError as err:
        raise ContaminationError("--ray needs Ray: pip install 'medteb[ray]'") from err
    from tqdm import tqdm

    workers = spec.workers or os.cpu_count() or 1
    started = False
    if not ray.is_initialized():
        try:
            ray.init(address=spec.address, include_dashboard=False,
                     logging_level=logging.WARNING,
                     **({} if spec.address else {"num_cpus": workers}))
        except (ConnectionError, RuntimeError, ValueError) as err:
            raise ContaminationError(
                f"cannot start or join {spec.address or 'a local Ray'}: {err}") from err
        started = True
    try:
        actor = ray.remote(num_cpus=1)(_Scanner)
        index_ref = ray.put(index)
        pool = ActorPool([actor.remote(index_ref, encoding) for _ in range(workers)])
        result = ScanResult()
        work: list[tuple[int, Shard]] = list(enumerate(shards))
        with tqdm(total=sum(s.size for s in shards), unit="B", unit_scale=True,
                  desc=f"training data ({workers} Ray workers)",
                  disable=not progress or None) as bar:
            results: Any = pool.map_unordered(lambda a, job: a.scan.remote(*job), work)
            try:
                for part in results:
                    result.merge(part)
                    bar.update(shards[min(part.lines)].size if part.lines else 0)
            except ray.exceptions.RayTaskError as err:
                raise _cause(err) from err
        return result
    finally:
        if started:
            ray.shutdown()
