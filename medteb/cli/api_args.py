"""The flags of served models (``api/<model>``, docs/api_models.md), shared by run and speed."""

from __future__ import annotations

import argparse
from typing import Any

from medteb.cli.arg_types import positive_int


def add_api_arguments(parser: argparse.ArgumentParser, pair: bool = True) -> None:
    """``--api-base`` and friends; with ``pair``, also the per-side bases of a pair."""
    from medteb.models.served.client import DEFAULT_KEY_ENV, ApiConfig

    defaults = ApiConfig("http://x")
    group = parser.add_argument_group(
        "served models (api/<name>)",
        "a model behind an OpenAI-compatible POST /v1/embeddings endpoint: -m api/<served "
        "model name>, or api/<name> as either side of a pair (docs/api_models.md). Every "
        "vector is cached in the document store, so a rerun sends no request for a text "
        "already embedded")
    group.add_argument("--api-base", default=None,
                       help="the endpoint's API base, e.g. http://127.0.0.1:8000/v1 (default: "
                            "$MEDTEB_API_BASE)")
    if pair:
        for side in ("query", "document"):
            group.add_argument(f"--{side}-api-base", default=None,
                               help=f"API base of an api/ {side} model served apart "
                                    "(default: --api-base)")
    group.add_argument("--api-key-env", default=DEFAULT_KEY_ENV, metavar="VAR",
                       help="environment variable holding the API key, sent as a bearer token "
                            f"and never written anywhere (default: {DEFAULT_KEY_ENV}; unset "
                            "sends no key)")
    group.add_argument("--api-concurrency", type=positive_int, default=defaults.concurrency,
                       help=f"requests in flight at once (default {defaults.concurrency})")
    group.add_argument("--api-timeout", type=float, default=defaults.timeout_s,
                       help=f"seconds one request may take, up to the answer's last byte "
                            f"(default {defaults.timeout_s:g})")
    group.add_argument("--api-retries", type=int, default=defaults.max_retries,
                       help="retries of a batch after a timeout, a dropped connection, HTTP "
                            "408/409/429/5xx or a malformed answer, with exponential backoff "
                            f"honouring Retry-After (default {defaults.max_retries})")


def api_config(args: argparse.Namespace, side: str | None = None) -> Any:
    """The :class:`ApiConfig` of one side (``query``/``document``) or of ``-m``; None if no base."""
    import os

    from medteb.models.served.client import ApiConfig
    from medteb.models.served.side import BASE_ENV

    base = getattr(args, f"{side}_api_base", None) if side else None
    base = base or getattr(args, "api_base", None) or os.environ.get(BASE_ENV)
    if not base:
        return None
    defaults = ApiConfig(base)  # a command without the api flags (encode-documents)
    return ApiConfig(base, key_env=getattr(args, "api_key_env", defaults.key_env),
                     concurrency=getattr(args, "api_concurrency", defaults.concurrency),
                     timeout_s=getattr(args, "api_timeout", defaults.timeout_s),
                     max_retries=getattr(args, "api_retries", defaults.max_retries),
                     store=getattr(args, "document_store", None))


def served_model_spec(args: argparse.Namespace) -> Any:
    """``-m api/<model>`` as a checked :class:`~medteb.models.served.encoder.ApiSpec`, else
    ``args.model``."""
    from medteb.models.kinds import kind_of

    if not args.model or not kind_of(args.model).served:
        return args.model
    kind_of(args.model).check(args.model)
    from medteb.models.names import served_name
    from medteb.models.served.encoder import ApiSpec

    spec = ApiSpec(served_name(args.model), api=api_config(args), name=getattr(args, "name", None),
                   batch_size=getattr(args, "batch_size", None))
    spec.check()  # before any data is read
    return spec
