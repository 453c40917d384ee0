"""The ``--ray`` options shared by ``medteb encode-documents`` and ``medteb build pool``."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from medteb.cli.arg_types import non_negative_float, positive_int

if TYPE_CHECKING:
    from medteb.evaluation.ray_encode import RaySettings


def add_ray_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "Ray (pip install 'medteb[ray]'; docs/distributed_encoding.md)")
    group.add_argument("--ray", action="store_true",
                       help="encode documents on Ray workers, each loading the encoder once; "
                            "this process only hands out shards and writes the store")
    group.add_argument("--ray-address", default=None,
                       help="join this Ray cluster (e.g. auto or ray://head:10001); default: "
                            "start a local Ray on this machine")
    group.add_argument("--ray-workers", type=positive_int, default=None,
                       help="number of workers (default: one per GPU, or 1 without GPUs)")
    group.add_argument("--ray-gpus-per-worker", type=non_negative_float, default=None,
                       help="GPUs per worker, e.g. 1 or 0.5 (default: 1 when the cluster has "
                            "GPUs, else 0)")


def ray_settings(args: argparse.Namespace) -> RaySettings | None:
    """The :class:`RaySettings` the options ask for; None without ``--ray``.

    Raises:
        RayEncodeError: a ``--ray-*`` option without ``--ray``.
    """
    from medteb.evaluation.ray_encode import RayEncodeError, RaySettings

    given = [flag for flag, value in (("--ray-address", args.ray_address),
                                      ("--ray-workers", args.ray_workers),
                                      ("--ray-gpus-per-worker", args.ray_gpus_per_worker))
             if value is not None]
    if not args.ray:
        if given:
            raise RayEncodeError(f"{', '.join(given)} only apply with --ray")
        return None
    return RaySettings(address=args.ray_address, workers=args.ray_workers,
                       gpus_per_worker=args.ray_gpus_per_worker)
