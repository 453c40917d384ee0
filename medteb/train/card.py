"""The model card (``OUT/README.md``) of a trained pair: pure, objects in, Markdown out."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from medteb.train.loop import StageLog
    from medteb.train.recipe import PairRecipe

STAGE_TITLES = {"document": "Document-encoder preparation (LoRA, Matryoshka InfoNCE, Eq. 4)",
                "alignment": "Stage I: query-encoder alignment (Asym-InfoNCE + MSE, Eq. 1-3)",
                "joint": "Stage II: joint fine-tuning (Asym-InfoNCE, hard + in-batch negatives)"}


def model_card(pair: Mapping[str, Any], recipe: PairRecipe, logs: Sequence[StageLog],
               data: Mapping[str, Any]) -> str:
    """Markdown describing the pair: how to evaluate it, the recipe, data, settings and losses."""
    query, document = pair["query"], pair["document"]
    projection = (f", with a linear projection to {pair['truncate_dim']} dimensions"
                  if query["projection"] else "")
    lines = [
        "---",
        "library_name: sentence-transformers",
        "tags: [medteb, asymmetric-retrieval, chinese, medical]",
        "---",
        "",
        "# Asymmetric retriever trained with `medteb train`",
        "",
        f"- Query encoder (`query/`): from `{query['base_model']}`, sentence-transformers "
        f"folder{projection}.",
        f"- Document encoder (`document/`): from `{document['base_model']}`, LoRA merged into the "
        "weights, last-token pooling with EOS appended.",
        f"- Compared dimension: {pair['truncate_dim']} (Matryoshka truncation of the document "
        "side, then L2 normalisation; cosine similarity).",
        f"- Query template: `{pair['query_template']!s}`.",
        "",
        "## Evaluate on MedTEB",
        "",
        "```bash",
        pair["command"],
        "```",
        "",
        "## Recipe",
        "",
        "The two-stage recipe of the MedTEB paper (§4, Appendix D.2 and G; docs/training.md):",
        "",
    ]
    for log in logs:
        lines.append(f"- **{STAGE_TITLES.get(log.stage, log.stage)}**: {log.steps} steps, "
                     f"{log.precision}, {log.seconds:.1f} s; loss "
                     f"{_loss(log, first=True)} -> {_loss(log, first=False)}"
                     f"{f' (resumed at step {log.resumed_from})' if log.resumed_from else ''}.")
    if pair.get("mrl_dims"):
        lines.append(f"- Matryoshka dimensions of document preparation: {pair['mrl_dims']}.")
    lines += ["", "## Data", ""]
    if data:
        lines += [f"- {key}: {value}" for key, value in sorted(data.items())]
    else:
        lines.append("- (not described)")
    settings = asdict(recipe)
    lines += ["", "## Hyper-parameters", "", "```json",
              json.dumps(settings, ensure_ascii=False, indent=2, sort_keys=True), "```", ""]
    return "\n".join(lines)


def _loss(log: StageLog, first: bool) -> str:
    if not log.losses:
        return "n/a"
    part = max(1, len(log.losses) // 10)
    values = log.losses[:part] if first else log.losses[-part:]
    return f"{sum(values) / len(values):.4f}"
