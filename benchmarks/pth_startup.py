"""Start-up cost of medteb's mteb hook (``medteb-mteb.pth``) for interpreters that never use mteb.

Two throwaway venvs (no pip) see the same packages through a path ``.pth`` pointing at this
interpreter's site-packages; one also holds a copy of medteb's ``medteb-mteb.pth`` and
``_medteb_mteb_hook.py``, exactly as an install places them (byte-compiled, as pip does). Runs
``python -X importtime -c pass`` in both, interleaved, and prints the median (and minimum) wall
time of each, their difference and ratio, and the hook module's own import time as
``-X importtime`` reports it. Budget: 5 ms.

    python benchmarks/pth_startup.py [--runs 40]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUDGET_MS = 5.0


def make_venv(folder: Path, with_hook: bool) -> Path:
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True)
    python = folder / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; "
                                "print(sysconfig.get_paths()['purelib'])"], check=True,
                               capture_output=True, text=True).stdout.strip())
    (site / "zz-packages.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", "utf-8")
    if with_hook:
        shutil.copy(ROOT / "pth" / "medteb-mteb.pth", site)
        shutil.copy(ROOT / "pth" / "_medteb_mteb_hook.py", site)  # follows the link
        # pip byte-compiles what it installs; do the same (PYTHONDONTWRITEBYTECODE may be set)
        subprocess.run([str(python), "-m", "py_compile", str(site / "_medteb_mteb_hook.py")],
                       check=True)
    return python


def one_run(python: Path) -> tuple[float, float]:
    """Wall ms of ``python -X importtime -c pass``, and the hook's cumulative import µs."""
    start = time.perf_counter()
    done = subprocess.run([str(python), "-X", "importtime", "-c", "pass"], check=True,
                          capture_output=True, text=True)
    wall = (time.perf_counter() - start) * 1000
    hook = [line for line in done.stderr.splitlines() if line.endswith("_medteb_mteb_hook")]
    return wall, float(hook[0].split("|")[1]) if hook else 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        without = make_venv(Path(tmp) / "without", with_hook=False)
        with_hook = make_venv(Path(tmp) / "with", with_hook=True)
        for python in (without, with_hook):  # warm the OS caches
            one_run(python)
        times: dict[str, list[float]] = {"without": [], "with": []}
        hook_us = []
        for _ in range(args.runs):
            times["without"].append(one_run(without)[0])
            wall, hook = one_run(with_hook)
            times["with"].append(wall)
            hook_us.append(hook)
    base, hooked = (statistics.median(times[k]) for k in ("without", "with"))
    fastest = {k: min(v) for k, v in times.items()}
    print(f"python -X importtime -c pass, {args.runs} interleaved runs each: median (min)")
    print(f"  without medteb-mteb.pth : {base:8.2f} ms ({fastest['without']:.2f})")
    print(f"  with medteb-mteb.pth    : {hooked:8.2f} ms ({fastest['with']:.2f})")
    print(f"  difference              : {hooked - base:+8.2f} ms "
          f"({fastest['with'] - fastest['without']:+.2f})   ratio {hooked / base:.3f}")
    print(f"  hook module import (-X importtime, cumulative): median "
          f"{statistics.median(hook_us) / 1000:.3f} ms, max {max(hook_us) / 1000:.3f} ms")
    print(f"  budget {BUDGET_MS:.0f} ms: {'met' if hooked - base <= BUDGET_MS else 'EXCEEDED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
