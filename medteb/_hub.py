"""One decision about the Hugging Face Hub per process: reachable, or work offline at once.

Without network, ``datasets`` and ``huggingface_hub`` retry each request for about 25 seconds
before giving up. MedTEB decides once per process — ``HF_HUB_OFFLINE`` already set, or a
3-second connection attempt to the Hub — and every entry point (``medteb run`` with a model or a
pair, ``medteb encode-documents``, :func:`medteb.evaluation.runner.run` from Python) goes
through :func:`decide_hub_access`. When the Hub is unreachable the process switches to the Hub's
offline mode (cached datasets and models still load), also in libraries imported before.
"""

from __future__ import annotations

import logging
import os
import socket
import sys

logger = logging.getLogger(__name__)

HUB_HOST = "huggingface.co"
OFFLINE_VARIABLES = ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE")
#: (module, attribute) of libraries that read the offline variables once, at import
_OFFLINE_CONSTANTS = (("huggingface_hub.constants", "HF_HUB_OFFLINE"),
                      ("datasets.config", "HF_HUB_OFFLINE"),
                      ("datasets.config", "HF_DATASETS_OFFLINE"))

_offline: bool | None = None  # this process's decision; None until made
_why = "HF_HUB_OFFLINE is set"  # why the process is offline, for error messages


def offline_reason() -> str:
    """Why this process works offline: the variable was set, the Hub did not answer, ..."""
    return _why


def hub_offline() -> bool:
    """Whether the Hub's offline mode is already on for this process."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def hub_reachable(timeout: float = 3.0) -> bool:
    """Whether the Hub answers a TCP connection within ``timeout`` seconds."""
    try:
        socket.create_connection((HUB_HOST, 443), timeout=timeout).close()
    except OSError as err:
        logger.warning("The Hugging Face Hub is unreachable (%s): working offline, with cached "
                       "datasets and models only.", err)
        return False
    return True


def decide_hub_access(timeout: float = 3.0) -> bool:
    """Decide once whether this process works offline; returns True when it does.

    The first call probes the Hub (unless offline mode is already on) and, when it does not
    answer, turns offline mode on; later calls return the same answer without probing.
    """
    global _offline, _why
    if hub_offline():
        _offline = True
    elif _offline is None:
        _offline = not hub_reachable(timeout)
        _why = f"{HUB_HOST} did not answer within {timeout:g}s"
    if _offline:
        go_offline(_why)
    return _offline


def go_offline(why: str = "the offline demo downloads nothing") -> None:
    """Switch this process to the Hub's offline mode: cached datasets and models only.

    Sets the variables for libraries not yet imported and the constants of those already
    imported (they read the variables once).

    Args:
        why: the reason, as :func:`offline_reason` gives it (unless the variable was set before).
    """
    global _offline, _why
    if not hub_offline():
        _why = why
    _offline = True
    for name in OFFLINE_VARIABLES:
        os.environ[name] = "1"
    for module, attribute in _OFFLINE_CONSTANTS:
        loaded = sys.modules.get(module)
        if loaded is not None and hasattr(loaded, attribute):
            setattr(loaded, attribute, True)
