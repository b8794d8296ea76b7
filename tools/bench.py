"""Benchmark: headless execution time per notebook (fast and full mode) and render times.

    python3 course.py bench             # every chapter, fast and full
    python3 course.py bench --fast-only ch00_latent_spaces

Targets on 2 CPU cores: fast <= 60 s per notebook, full <= 300 s, each widget render
<= 200 ms (median of repeated calls at every slider's min, default and max). This is a
measurement, not a test: the machines are shared and noisy. The full-mode runs also write
results/full/ (what `course.py results --full` writes), so one benchmark refreshes both.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from tools.chapters import ROOT, chapters, solution_ipynb
from tools.execute import execute

TARGETS = {"fast": 60.0, "full": 300.0, "render": 200.0}
RESULTS_FULL = ROOT / "results" / "full"  # same files as `course.py results --full`


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="course.py bench")
    parser.add_argument("--fast-only", action="store_true")
    parser.add_argument("--repeat", type=int, default=5, help="render calls per setting")
    parser.add_argument("chapters", nargs="*")
    args = parser.parse_args(argv)
    rows, renders = [], []
    for chapter in args.chapters or chapters():
        times = {}
        for mode in ["fast"] + ([] if args.fast_only else ["full"]):
            with tempfile.TemporaryDirectory() as tmp:
                # the full run is the one whose figures are committed in results/full/
                results_dir = RESULTS_FULL if mode == "full" else Path(tmp) / "res"
                (results_dir / f"{chapter}.json").unlink(missing_ok=True)
                run = execute(solution_ipynb(chapter), Path(tmp) / "out.ipynb",
                              fast=mode == "fast", results_dir=results_dir,
                              render_repeat=args.repeat if mode == "fast" else 1, timeout=900)
                ok = run.returncode == 0 and not run.cell_errors()
                times[mode] = run.seconds if ok else float("nan")
                if mode == "fast":
                    for key, value in run.results.items():
                        if key.startswith("render/"):
                            renders.append((chapter, key[7:], value["median_ms"],
                                            value["max_ms"], value["calls"]))
        rows.append((chapter, times.get("fast"), times.get("full")))
        print(f"{chapter}: fast {times.get('fast', 0):.1f} s"
              + (f", full {times['full']:.1f} s" if "full" in times else ""), flush=True)

    def verdict(value, target):
        return "" if value is None else ("ok" if value <= target else "OVER")

    print(f"\n{'notebook':26s} {'fast s':>8s} {'':4s} {'full s':>8s} {'':4s}")
    for chapter, fast, full in rows:
        full_txt = f"{full:8.1f}" if full is not None else f"{'-':>8s}"
        print(f"{chapter:26s} {fast:8.1f} {verdict(fast, TARGETS['fast']):4s} {full_txt} "
              f"{verdict(full, TARGETS['full']):4s}")
    print(f"\n{'notebook':26s} {'widget':28s} {'median ms':>9s} {'max ms':>8s} {'calls':>5s}")
    for chapter, name, median, worst, calls in renders:
        print(f"{chapter:26s} {name:28s} {median:9.1f} {worst:8.1f} {calls:5d} "
              f"{verdict(median, TARGETS['render'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
