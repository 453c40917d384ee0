"""Fail fast when the Hugging Face Hub cannot be reached.

Without network, ``datasets`` retries each hub request for about 25 seconds before giving up.
When the Hub does not answer a 3-second connection attempt, MedTEB switches the process to the
Hub's offline mode (cached datasets and models still load) before mteb or datasets are imported.
"""

from __future__ import annotations

import logging
import os
import socket

logger = logging.getLogger(__name__)

HUB_HOST = "huggingface.co"
OFFLINE_VARIABLES = ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE")


def hub_offline() -> bool:
    """Whether the Hub's offline mode is already on for this process."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def go_offline_if_unreachable(timeout: float = 3.0) -> bool:
    """Turn on the Hub's offline mode when the Hub does not answer; returns True if offline.

    Must run before ``huggingface_hub`` is imported, which reads these variables once.
    """
    if hub_offline():
        return True
    try:
        socket.create_connection((HUB_HOST, 443), timeout=timeout).close()
        return False
    except OSError as err:
        logger.warning("The Hugging Face Hub is unreachable (%s): working offline, with cached "
                       "datasets and models only.", err)
        go_offline()
        return True


def go_offline() -> None:
    """Switch this process to the Hub's offline mode: cached datasets and models only."""
    for name in OFFLINE_VARIABLES:
        os.environ[name] = "1"
