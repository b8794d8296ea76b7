"""Execute every chapter headlessly and print the course results table.

    python3 course.py results           # fast mode, results in results/fast/
    python3 course.py results --full    # full mode, results in results/full/ (committed)
    python3 course.py results --show    # print the table of the last full run, no execution

Exits 1 when a chapter fails, naming it (after the table of what the others recorded).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from lessonlib.core.results import load_dir
from tools.chapters import ROOT, chapters, solution_ipynb
from tools.execute import execute


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_fmt(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    return str(value)


def table(results: dict[str, dict]) -> str:
    """One line per headline figure: chapter, name, value (render timings summarised)."""
    lines = [f"{'chapter':24s} {'figure':36s} value"]
    for chapter, figures in results.items():
        for name, value in figures.items():
            if name.startswith("render/"):
                value = f"{value['median_ms']:.0f} ms median render ({value['calls']} calls)"
            lines.append(f"{chapter:24s} {name:36s} {_fmt(value)}")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="course.py results")
    parser.add_argument("--full", action="store_true", help="full mode (minutes per chapter)")
    parser.add_argument("--show", action="store_true", help="print saved results only")
    parser.add_argument("chapters", nargs="*", default=None)
    args = parser.parse_args(argv)
    mode = "full" if args.full or args.show else "fast"  # --show: the committed full run
    out_dir = ROOT / "results" / mode
    failed = []
    if not args.show:
        for chapter in args.chapters or chapters():
            (out_dir / f"{chapter}.json").unlink(missing_ok=True)
            with tempfile.TemporaryDirectory() as tmp:
                run = execute(solution_ipynb(chapter), Path(tmp) / "out.ipynb",
                              fast=not args.full, results_dir=out_dir, timeout=900)
                print(f"{chapter}: {'ok' if run.ok else 'FAILED'} in {run.seconds:.1f} s",
                      flush=True)
                if not run.ok:
                    failed.append(chapter)
                    print(run.report()[-3000:])
    print(table(load_dir(out_dir)))
    if failed:
        print(f"\nFAILED: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
