"""Model parameter counts of a submission: what ``model_meta.json`` records for a model or each
side of a pair, completed by ``medteb submit --parameters`` where ``medteb run`` could not know
them (a served model)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def loader_kind(meta: dict[str, Any]) -> str | None:
    """``asymmetric`` for a pair, ``api`` for a served model (what ``medteb run`` records in
    ``loader_kwargs``), else None."""
    kwargs = meta.get("loader_kwargs")
    kwargs = kwargs if isinstance(kwargs, dict) else {}
    return next((k for k in ("asymmetric", "api") if isinstance(kwargs.get(k), dict)), None)


def _count(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 \
        else None


def parameter_counts(meta: dict[str, Any], given: Sequence[int] | None, where: str,
                     problems: list[str]) -> tuple[tuple[int | None, int | None], dict]:
    """(query, document) parameters, and what to record in the copied ``model_meta.json``.

    A model's count is ``n_parameters``; a pair's, each side's (``loader_kwargs.asymmetric``),
    adding up to ``n_parameters``. A count ``medteb run`` could not know (a served model or
    side: ``api/<model>``) comes from ``given`` (``--parameters``); a count given for one that
    is recorded must equal it.
    """
    from medteb.models.kinds import kind_of

    pair = (meta.get("loader_kwargs") or {}).get("asymmetric")
    roles = ("query", "document") if isinstance(pair, dict) else ("model",)
    if given is not None and len(given) != len(roles):
        problems.append(f"{where}: --parameters takes {len(roles)} count(s) here "
                        f"({' '.join(r.upper() for r in roles)}), got {len(given)}")
        given = None
    recorded: list[int | None] = []
    for role in roles:
        side = (pair.get(role) or {}) if isinstance(pair, dict) else meta
        count = _count(side.get("n_parameters"))
        model = side.get("model")
        served = kind_of(model).served if isinstance(model, str) else loader_kind(meta) == "api"
        if served and count == 0:  # what `medteb run` once recorded for a served side
            count = None
        recorded.append(count)
    counts = list(recorded)
    for i, role in enumerate(roles):
        if given is None:
            continue
        if recorded[i] is not None and recorded[i] != given[i]:
            problems.append(f"{where}: inconsistent model parameters: model_meta.json records "
                            f"{recorded[i]} for the {role}, --parameters gives {given[i]}")
        counts[i] = given[i]
    if None in counts:
        flag = "N" if len(roles) == 1 else "QUERY DOCUMENT"
        problems.append(f"{where}/model_meta.json: missing model parameters ('n_parameters' is "
                        f"{meta.get('n_parameters')!r}; give the count with --parameters {flag}, "
                        "0 for non-neural models)")
        return (None, None), {}
    total = _count(meta.get("n_parameters"))
    if len(roles) == 1:
        return (counts[0], counts[0]), ({} if total == counts[0] else {"n_parameters": counts[0]})
    if counts == recorded and total != sum(counts):
        problems.append(f"{where}/model_meta.json: inconsistent model meta: an asymmetric pair's "
                        f"query and document parameters ({counts[0]!r} + {counts[1]!r}) must add "
                        f"up to 'n_parameters' ({meta.get('n_parameters')})")
        return (None, None), {}
    if counts == recorded:
        return (counts[0], counts[1]), {}
    sides = {role: {**pair.get(role, {}), "n_parameters": n}
             for role, n in zip(roles, counts, strict=True)}
    return (counts[0], counts[1]), {"n_parameters": sum(counts), "loader_kwargs": {
        **meta["loader_kwargs"], "asymmetric": {**pair, **sides}}}
