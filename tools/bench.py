"""Benchmark: headless execution time per notebook (fast and full mode), render time per
widget, and run time per public check.

    python3 course.py bench             # every chapter, fast and full, then every check
    python3 course.py bench --fast-only ch00_latent_spaces
    python3 course.py bench --checks-only
    python3 course.py bench --grading [chapter]   # 8 submissions: grade --jobs 1 vs --jobs 2

Targets on 2 CPU cores: fast <= 60 s per notebook, full <= 300 s (ch10: 480 s), each widget render
<= 200 ms (median of repeated calls at every slider's min, default and max), each public
check <= 1 s (a learner waits for it after every attempt; nbgrader runs it per test cell).
This is a measurement, not a test: the machines are shared and noisy, so no test asserts a
time; these tables are where the times are read. The full-mode runs also write results/full/
(what `course.py results --full` writes), so one benchmark refreshes both.

Exits 1, naming them, when a notebook fails or a check rejects lessonlib's own reference.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from tools.chapters import ROOT, chapters, solution_ipynb
from tools.execute import execute

TARGETS = {"fast": 60.0, "full": 300.0, "render": 200.0, "check": 1000.0}
# The one chapter allowed past 5 minutes in full mode: it trains a tokenizer, a classifier
# and two priors (8 minutes; its tokenizer may come from the model cache).
FULL_TARGET = {"ch10_discrete_priors": 480.0}
RESULTS_FULL = ROOT / "results" / "full"  # same files as `course.py results --full`


def verdict(value: float | None, target: float) -> str:
    if value is None:
        return ""
    if value != value:  # NaN: the run failed
        return "FAILED"
    return "ok" if value <= target else "OVER"


def bench_notebooks(names: list[str], *, fast_only: bool, repeat: int):
    """Execute each chapter (fast, then full); return rows, render timings, failures."""
    rows, renders, failed = [], [], []
    for chapter in names:
        times = {}
        for mode in ["fast"] + ([] if fast_only else ["full"]):
            with tempfile.TemporaryDirectory() as tmp:
                # the full run is the one whose figures are committed in results/full/
                results_dir = RESULTS_FULL if mode == "full" else Path(tmp) / "res"
                (results_dir / f"{chapter}.json").unlink(missing_ok=True)
                run = execute(solution_ipynb(chapter), Path(tmp) / "out.ipynb",
                              fast=mode == "fast", results_dir=results_dir,
                              render_repeat=repeat if mode == "fast" else 1, timeout=900)
                times[mode] = run.seconds if run.ok else float("nan")
                if not run.ok:
                    failed.append(f"{chapter} ({mode})")
                    print(f"{chapter} FAILED in {mode} mode:\n{run.report()[-3000:]}")
                if mode == "fast":
                    for key, value in run.results.items():
                        if key.startswith("render/"):
                            renders.append((chapter, key[7:], value["median_ms"],
                                            value["max_ms"], value["calls"]))
        rows.append((chapter, times.get("fast"), times.get("full")))
        print(f"{chapter}: fast {times.get('fast', 0):.1f} s"
              + (f", full {times['full']:.1f} s" if "full" in times else ""), flush=True)
    return rows, renders, failed


def public_checks() -> list:
    """Every PublicCheck in lessonlib.checks that has a reference to run it on."""
    from lessonlib import checks
    from lessonlib.checks.core import PublicCheck

    found = {}
    for info in pkgutil.walk_packages(checks.__path__, prefix="lessonlib.checks."):
        for value in vars(importlib.import_module(info.name)).values():
            if isinstance(value, PublicCheck) and value.reference is not None:
                found[value.name] = value
    return [found[name] for name in sorted(found)]


def check_timings(repeat: int) -> list[tuple[str, float, float, bool]]:
    """(name, median ms, max ms, passed) of check.run(reference), after one warm-up call."""
    rows = []
    for check in public_checks():
        passed = check.run(check.reference).passed  # warm-up (imports, caches)
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            check.run(check.reference)
            times.append(1000 * (time.perf_counter() - start))
        rows.append((check.name, statistics.median(times), max(times), passed))
    return rows


def print_tables(rows, renders, checks) -> None:
    if rows:
        print(f"\n{'notebook':26s} {'fast s':>8s} {'':6s} {'full s':>8s} {'':6s}")
        for chapter, fast, full in rows:
            full_txt = f"{full:8.1f}" if full is not None else f"{'-':>8s}"
            print(f"{chapter:26s} {fast:8.1f} {verdict(fast, TARGETS['fast']):6s} {full_txt} "
                  f"{verdict(full, FULL_TARGET.get(chapter, TARGETS['full'])):6s}")
    if renders:
        print(f"\n{'notebook':26s} {'widget':28s} {'median ms':>9s} {'max ms':>8s} {'calls':>5s}")
        for chapter, name, median, worst, calls in renders:
            print(f"{chapter:26s} {name:28s} {median:9.1f} {worst:8.1f} {calls:5d} "
                  f"{verdict(median, TARGETS['render'])}")
    if checks:
        print(f"\n{'public check (on the reference)':40s} {'median ms':>9s} {'max ms':>8s}")
        for name, median, worst, passed in checks:
            status = verdict(median, TARGETS["check"]) if passed else "FAILED (reference)"
            print(f"{name:40s} {median:9.1f} {worst:8.1f} {status}")


def bench_grading(chapter: str, count: int = 8) -> int:
    """Grade `count` synthetic submissions of a chapter with `course.py grade --jobs 1`, then
    the same class afresh with `--jobs 2`; print both wall times and their ratio."""
    import shutil

    from tools.grade import grade
    from tools.grading import load_variants
    from tools.synthetic_class import make_course, submit

    depth = max((len(v) for v in load_variants(chapter).values()), default=0)
    kinds = ["solution", "blank", *(f"wrong{i + 1}" for i in range(depth))]
    times, cpu, load, failed = {}, {}, {}, []
    with tempfile.TemporaryDirectory() as tmp:
        base = make_course(Path(tmp) / "base", chapter)
        for i in range(count):
            submit(base, chapter, f"student{i + 1:02d}", kinds[i % len(kinds)])
        for jobs in (1, 2):
            course = Path(shutil.copytree(base, Path(tmp) / f"jobs{jobs}"))
            load[jobs] = os.getloadavg()[0]
            cpu_before, start = children_cpu(), time.perf_counter()
            report = grade(chapter, course, jobs=jobs)
            times[jobs] = time.perf_counter() - start
            cpu[jobs] = children_cpu() - cpu_before
            failed += [f"grading {o.student} (--jobs {jobs})" for o in report.failed]
    # CPU s: what the workers, nbgrader and the kernels used; wall s well above CPU s / jobs
    # means other processes held the cores (the load average before each run says how busy).
    print(f"\n{'grading ' + chapter:32s} {'submissions':>11s} {'wall s':>8s} {'CPU s':>8s} "
          f"{'load before':>11s}")
    for jobs, seconds in times.items():
        print(f"{'--jobs ' + str(jobs):32s} {count:11d} {seconds:8.1f} {cpu[jobs]:8.1f} "
              f"{load[jobs]:11.1f}")
    print(f"speed-up of --jobs 2 over --jobs 1: {times[1] / times[2]:.2f}x "
          "(close to 2x on two idle cores)")
    return exit_status(failed)


def children_cpu() -> float:
    """User + system CPU seconds of this process's finished child processes (and theirs)."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def exit_status(failed: list[str]) -> int:
    """0 if nothing failed; else print what did and return 1."""
    if not failed:
        return 0
    print(f"\nFAILED: {', '.join(failed)}")
    return 1


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="course.py bench")
    parser.add_argument("--fast-only", action="store_true")
    parser.add_argument("--checks-only", action="store_true", help="time the public checks only")
    parser.add_argument("--repeat", type=int, default=5, help="calls per render setting / check")
    parser.add_argument("--grading", action="store_true",
                        help="time `course.py grade` on 8 submissions: --jobs 1 vs --jobs 2")
    parser.add_argument("chapters", nargs="*")
    args = parser.parse_args(argv)
    if args.grading:
        return bench_grading(args.chapters[0] if args.chapters else "ch00_latent_spaces")
    rows, renders, failed = [], [], []
    if not args.checks_only:
        rows, renders, failed = bench_notebooks(args.chapters or chapters(),
                                                fast_only=args.fast_only, repeat=args.repeat)
    checks = check_timings(args.repeat)
    failed += [f"check {name} (rejects its reference)" for name, *_, ok in checks if not ok]
    print_tables(rows, renders, checks)
    return exit_status(failed)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
