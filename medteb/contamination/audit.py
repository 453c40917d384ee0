"""Run the audit: index the test side, scan the training shards, build the report."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from medteb.contamination.index import KINDS, AuditIndex, ContaminationError
from medteb.contamination.ray_scan import RaySpec, scan_ray
from medteb.contamination.report import MATCHES, ContaminationReport, Example
from medteb.contamination.scan import Evidence, ScanResult, scan_shard
from medteb.contamination.training import Shard


def scan_local(index: AuditIndex, shards: Sequence[Shard], encoding: str,
               progress: bool = True) -> ScanResult:
    """Scan every shard in this process, with a progress bar over bytes."""
    from tqdm import tqdm

    result = ScanResult()
    with tqdm(total=sum(s.size for s in shards), unit="B", unit_scale=True,
              desc="training data", disable=not progress or None) as bar:
        for number, shard in enumerate(shards):
            result.merge(scan_shard(index, number, shard, encoding))
            bar.update(shard.size)
    return result


def run_audit(index: AuditIndex, shards: Sequence[Shard], *, encoding: str = "utf-8",
              ray: RaySpec | None = None, progress: bool = True) -> ContaminationReport:
    """Scan ``shards`` against ``index`` (here, or on Ray workers) and build the report.

    Raises:
        ContaminationError: the training files hold no records, or one cannot be read.
    """
    if ray is not None:
        result = scan_ray(index, shards, encoding, ray, progress)
    else:
        result = scan_local(index, shards, encoding, progress)
    files = tuple(dict.fromkeys(s.path for s in shards))
    if result.records == 0:
        raise ContaminationError(f"empty training set: no records in {', '.join(files)}")
    return build_report(index, shards, result, files)


def _location(shards: Sequence[Shard], lines: Mapping[int, int], evidence: Evidence) -> str:
    shard = shards[evidence.shard]
    if shard.fmt not in ("jsonl", "text"):
        return f"{shard.path} row {evidence.record}"
    before = sum(lines.get(i, 0) for i, s in enumerate(shards[:evidence.shard])
                 if s.path == shard.path)
    return f"{shard.path} line {before + evidence.record}"


def build_report(index: AuditIndex, shards: Sequence[Shard], result: ScanResult,
                 files: tuple[str, ...]) -> ContaminationReport:
    """Turn merged scan results into the report (ids in test-file order)."""
    tasks = sorted({item.task for item in index.items})
    found = {t: {k: {m: [] for m in MATCHES} for k in KINDS} for t in tasks}
    sizes = {t: dict.fromkeys(KINDS, 0) for t in tasks}
    examples: dict[tuple[str, str, str], Example] = {}
    for position, item in enumerate(index.items):
        sizes[item.task][item.kind] += 1
        evidence = result.items.get(position)
        if evidence is None:
            continue
        match = MATCHES[not evidence.exact]
        found[item.task][item.kind][match].append(item.id)
        examples.setdefault((item.task, item.kind, match), Example(
            item.task, item.kind, match, item.id, item.text, evidence.snippet,
            _location(shards, result.lines, evidence)))
    for query, documents in sorted(index.positives.items()):
        for document in documents:
            task = index.items[query].task
            sizes[task]["pairs"] += 1
            evidence = result.pairs.get((query, document))
            if evidence is None:
                continue
            match = MATCHES[not evidence.exact]
            ids = [index.items[query].id, index.items[document].id]
            found[task]["pairs"][match].append(ids)
            examples.setdefault((task, "pairs", match), Example(
                task, "pairs", match, " / ".join(ids),
                index.items[query].text + " ⟷ " + index.items[document].text, "(same record)",
                _location(shards, result.lines, evidence)))
    ordered = tuple(examples[key] for key in sorted(examples))
    return ContaminationReport(found, sizes, ordered, files, result.records, index.settings)
