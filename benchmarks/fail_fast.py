"""Time from ``medteb run`` starting to its error line, for argument and data-folder mistakes.

Each case runs as a fresh process (as a user types it), ``REPEATS`` times; the median wall time
is reported beside the same command in a process that imports mteb and torch first (what every
mistake cost before the checks moved ahead of those imports), measured in the same run. Target:
at most 1.5 s to the error line on 2 cores.

    python benchmarks/fail_fast.py
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REPEATS = 5
TARGET_S = 1.5
CLI = "import sys; from medteb.cli import main; sys.exit(main(sys.argv[1:]))"
IMPORTS_FIRST = "import mteb, torch; " + CLI


def _time_to_error(code: str, argv: list[str], cwd: Path) -> tuple[float, str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code, *argv], cwd=cwd, env=env,
                          capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 2 or not done.stderr.startswith("medteb: error: "):
        raise SystemExit(f"{argv}: expected exit 2 and one error line, got {done.returncode}: "
                         f"{done.stderr[-500:]}")
    return elapsed, done.stderr.strip().splitlines()[-1]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "empty").mkdir()
        bad = work / "bad" / "MedTEB-STS" / "sts"
        bad.mkdir(parents=True)
        (bad / "test.jsonl").write_text('{"sentence1": "高血压", "sentence2": "血压高\n',
                                        encoding="utf-8")
        cases = {
            "task name in the wrong case": ["run", "-m", "bm25-zh", "-t", "medteb-retrieval"],
            "empty --data-dir": ["run", "-m", "bm25-zh", "--data-dir", "empty"],
            "missing --data-dir": ["run", "-m", "bm25-zh", "--data-dir", "missing"],
            "corrupt JSONL": ["run", "-m", "bm25-zh", "--data-dir", "bad"],
            "missing model folder": ["run", "-m", "./no-such-model", "--data-dir", "sample"],
        }
        print(f"cores: {os.cpu_count()}; median of {REPEATS} fresh processes each; target "
              f"<= {TARGET_S} s\n")
        print("| mistake | fail fast (s) | imports first (s) | ratio | error line |")
        print("|---|---:|---:|---:|---|")
        worst = 0.0
        for label, argv in cases.items():
            fast, slow = [], []
            for _ in range(REPEATS):  # interleaved, so that load on the machine hits both
                seconds, line = _time_to_error(CLI, argv, work)
                fast.append(seconds)
                slow.append(_time_to_error(IMPORTS_FIRST, argv, work)[0])
            f, s = statistics.median(fast), statistics.median(slow)
            worst = max(worst, f)
            print(f"| {label} | {f:.2f} | {s:.2f} | {s / f:.1f}x | {line[:90]} |")
        print(f"\nslowest fail-fast case: {worst:.2f} s "
              f"({'within' if worst <= TARGET_S else 'OVER'} the {TARGET_S} s target)")


if __name__ == "__main__":
    main()
