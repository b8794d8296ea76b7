"""Autograde a chapter's submissions in parallel, with progress, on one machine or a Dask
cluster; the results land in the course's own gradebook and autograded/ folder.

    python3 course.py grade ch00_latent_spaces                 # all cores of this machine
    python3 course.py grade ch00_latent_spaces --jobs 4 --student alice bob
    python3 course.py grade ch00_latent_spaces --dask tcp://scheduler:8786
    python3 course.py grade ch00_latent_spaces --force         # regrade unchanged ones too

Each submission under submitted/<student>/<chapter>/ is one task (tools.grading_jobs): it
runs `nbgrader autograde` for that one student in a scratch course with a gradebook shard of
its own, so workers never share a SQLite file, a kernel or a Jupyter runtime folder. Here,
on the instructor's machine, each result is merged into the course gradebook as it arrives
(tools.gradebook_merge), so the Formgrader, `nbgrader generate_feedback` and `nbgrader
export` work on it unchanged. A submission whose files and tests are the same as at its last
grading is skipped. A submission that kills its kernel, loops past the per-cell limit or is
malformed never stops the others: it is listed in the failure table at the end.

Exit status: 0 when every requested submission is graded, 1 when some could not be graded
(the table says why), 2 on a usage error.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import re
import sys
import time
import uuid
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from tools import grading_jobs
from tools.chapters import ROOT
from tools.gradebook_merge import (
    assignment_fingerprint,
    gradebook_seed,
    is_current,
    merge_result,
    read_state,
    read_submission,
    recorded_submissions,
    sqlite_path,
    submission_digest,
)


@dataclass
class Course:
    """An nbgrader course folder, configured by its nbgrader_config.py."""

    root: Path
    coursedir: object  # nbgrader.coursedir.CourseDirectory
    config_text: str

    @property
    def db_url(self) -> str:
        return self.coursedir.db_url

    @property
    def course_id(self) -> str:
        return self.coursedir.course_id

    @property
    def autograded(self) -> Path:
        return self.root / self.coursedir.autograded_directory

    def submitted(self, student: str, chapter: str) -> Path:
        return Path(self.coursedir.format_path(self.coursedir.submitted_directory, student,
                                               chapter))


def load_course(root: Path) -> Course:
    """Read root/nbgrader_config.py the way nbgrader does."""
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    root = Path(root).resolve()
    config_file = root / "nbgrader_config.py"
    config = PyFileConfigLoader(config_file.name, path=str(root)).load_config()
    coursedir = CourseDirectory(config=config)
    coursedir.root = str(root)
    return Course(root, coursedir, config_file.read_text())


def find_students(course: Course, chapter: str, wanted: list[str] | None = None) -> list[str]:
    """Students with a submitted/<student>/<chapter>/ folder (only `wanted` ones, if given)."""
    pattern = course.submitted("*", chapter)
    found = sorted(p.parent.name for p in pattern.parent.parent.glob(f"*/{pattern.name}")
                   if p.is_dir())
    if wanted:
        missing = sorted(set(wanted) - set(found))
        if missing:
            raise SystemExit(f"no submission of {chapter} for {', '.join(missing)} "
                             f"(looked in {pattern.parent.parent})")
        found = [s for s in found if s in wanted]
    return found


def source_files(course: Course, chapter: str) -> dict[str, bytes]:
    """The assignment's non-notebook source files, which autograde copies into every
    autograded folder (none in this course, but nbgrader allows them)."""
    from nbgrader.utils import find_all_files

    folder = Path(course.coursedir.format_path(course.coursedir.source_directory, ".", chapter))
    ignore = [*course.coursedir.ignore, "*.ipynb"]
    return {Path(f).relative_to(folder).as_posix(): Path(f).read_bytes()
            for f in find_all_files(str(folder), ignore)}


@dataclass
class Outcome:
    """Where one submission stands after a run."""

    student: str
    status: str  # "graded" or "failed"
    reason: str = ""
    problems: list[str] = field(default_factory=list)
    fresh: bool = True  # graded in this run (False: unchanged since an earlier run)
    seconds: float = 0.0


@dataclass
class Report:
    chapter: str
    outcomes: dict[str, Outcome]
    seconds: float
    where: str

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes.values() if o.status == "failed"]

    @property
    def table_rows(self) -> list[Outcome]:
        return [o for o in self.outcomes.values() if o.status == "failed" or o.problems]


def failure_table(report: Report, course: Course | None = None) -> str:
    """The submissions that failed or had problems, each with its reason."""
    rows = report.table_rows
    if not rows:
        return "No failures."
    width = max(len("student"), *(len(o.student) for o in rows))
    lines = [f"{'student':{width}s}  {'status':7s}  reason"]
    for o in rows:
        reasons = ([o.reason] if o.reason else []) + o.problems
        if not o.fresh:
            retry = "; --force to retry" if o.status == "failed" else ""
            reasons[-1] += f" [unchanged since the last run{retry}]"
        lines.append(f"{o.student:{width}s}  {o.status:7s}  {reasons[0]}")
        lines += [f"{'':{width}s}  {'':7s}  {r}" for r in reasons[1:]]
    if course is not None:
        lines.append(f"nbgrader's log of each: {course.autograded}/<student>/"
                     f".{report.chapter}.grading.log")
    return "\n".join(lines)


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def grade(chapter: str, root: Path = ROOT, *, jobs: int | None = None,
          students: list[str] | None = None, force: bool = False, timeout: int | None = None,
          dask: str | None = None, progress: bool = True, out=None) -> Report:
    """Grade the chapter's new or changed submissions; merge each result as it arrives.
    Prints a summary and the failure table to `out` (default: stdout), the progress bar to
    stderr."""
    start, out = time.perf_counter(), out or sys.stdout
    course = load_course(root)
    _require_assignment(course, chapter)
    names = find_students(course, chapter, students)
    if not names:
        print(f"{chapter}: no submission under {course.submitted('*', chapter)}", file=out)
    outcomes, todo = plan(course, chapter, names, force=force, timeout=timeout)
    jobs = max(1, jobs or default_jobs())
    workers = min(jobs, max(len(todo), 1))
    where = (f"the Dask cluster at {dask}" if dask
             else f"{workers} local process{'es' if workers > 1 else ''}")
    print(f"{chapter}: {len(names)} submissions, {len(todo)} to grade, "
          f"{len(names) - len(todo)} unchanged (--force regrades them)"
          + (f"; on {where}" if todo else ""), file=out, flush=True)
    if todo:
        seed = gradebook_seed(course.db_url)
        tasks = [task for task, _ in todo.values()]
        results = (_run_dask(tasks, seed, dask) if dask
                   else _run_local(tasks, seed, min(jobs, len(tasks))))
        bar = _progress(len(tasks), chapter, enabled=progress)
        failures = 0
        for result in results:
            _, digest = todo[result["student"]]
            merge_result(course.db_url, course.course_id, course.autograded, result, digest,
                         fallback_timestamp=_timestamp_text(course, chapter, result["student"]))
            outcome = Outcome(result["student"], result["status"], result["reason"],
                              result["problems"], seconds=result["seconds"])
            outcomes[outcome.student] = outcome
            failures += outcome.status == "failed" or bool(outcome.problems)
            bar.set_postfix_str(f"failures={failures}", refresh=False)
            bar.update(1)
        bar.close()
    report = Report(chapter, {s: outcomes[s] for s in names}, time.perf_counter() - start,
                    where)
    fresh = [o for o in report.outcomes.values() if o.fresh]
    print(f"{chapter}: graded {sum(o.status == 'graded' for o in fresh)}, "
          f"failed {sum(o.status == 'failed' for o in fresh)}, "
          f"unchanged {len(names) - len(fresh)}, in {report.seconds:.1f} s", file=out)
    if report.table_rows:
        print("\n" + failure_table(report, course), file=out, flush=True)
    return report


def plan(course: Course, chapter: str, names: list[str], *, force: bool,
         timeout: int | None) -> tuple[dict[str, Outcome], dict[str, tuple[dict, str]]]:
    """Split the submissions into those unchanged since their last grading (their outcome
    then) and those to grade ({student: (task, digest)}; tools.grading_jobs has the task)."""
    fingerprint = assignment_fingerprint(course.db_url, chapter)
    recorded = recorded_submissions(course.db_url, chapter)
    config, extra = course.config_text, source_files(course, chapter)
    outcomes, todo = {}, {}
    for student in names:
        files = read_submission(course.submitted(student, chapter))
        digest = submission_digest(files, fingerprint)
        state = read_state(course.autograded, student, chapter)
        if not force and is_current(state, digest, course.autograded / student / chapter,
                                    student in recorded):
            outcomes[student] = Outcome(student, state["status"], state.get("reason", ""),
                                        state.get("problems", []), fresh=False)
            continue
        task = {"chapter": chapter, "student": student, "submission": files,
                "source_files": extra, "config": config, "timeout": timeout,
                "extension_seconds": recorded.get(student)}
        todo[student] = (task, digest)
    return outcomes, todo


def _require_assignment(course: Course, chapter: str) -> None:
    from nbgrader.api import Gradebook, MissingEntry

    if not sqlite_path(course.db_url).exists():
        raise SystemExit(f"no gradebook at {course.db_url}: run `nbgrader generate_assignment "
                         f"{chapter} --force` in {course.root} first")
    with Gradebook(course.db_url, course.course_id) as gb:
        try:
            gb.find_assignment(chapter)
        except MissingEntry:
            raise SystemExit(
                f"{chapter} is not in the gradebook {course.db_url}: run `nbgrader "
                f"generate_assignment {chapter} --force` in {course.root} first") from None


def _timestamp_text(course: Course, chapter: str, student: str) -> str | None:
    path = course.submitted(student, chapter) / "timestamp.txt"
    if not path.exists():
        return None
    return path.read_text().strip() or None


def _progress(total: int, chapter: str, *, enabled: bool):
    """submissions done / total, failures so far, elapsed and ETA (tqdm)."""
    from tqdm import tqdm

    return tqdm(total=total, desc=f"grading {chapter}", unit="submission", disable=not enabled,
                file=sys.stderr, dynamic_ncols=True, postfix="failures=0")


def _failed(task: dict, err: BaseException) -> dict:
    """The result of a task that did not come back (its worker died or was lost)."""
    return {"chapter": task["chapter"], "student": task["student"], "status": "failed",
            "reason": f"the grading task was lost: {type(err).__name__}: {err}",
            "problems": [], "timestamp": None, "notebooks": {}, "autograded": {},
            "log": "", "seconds": 0.0, "host": ""}


def _run_local(tasks: list[dict], seed: bytes, jobs: int):
    """Each task in a pool of `jobs` worker processes; yield results as they complete."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        futures = {pool.submit(grading_jobs.grade_submission, task, seed): task
                   for task in tasks}
        for future in as_completed(futures):
            try:
                yield future.result()
            except Exception as err:  # noqa: BLE001  (one lost task never stops the others)
                yield _failed(futures[future], err)


def _run_dask(tasks: list[dict], seed: bytes, address: str):
    """Each task on a Dask distributed cluster; yield results as they complete.

    The task's code travels by value (cloudpickle), so workers need only the course's
    Python stack (nbgrader, ipykernel, lessonlib), not this repository; the gradebook seed
    is sent once to every worker."""
    import cloudpickle
    from distributed import Client
    from distributed import as_completed as dask_completed

    cloudpickle.register_pickle_by_value(grading_jobs)
    run = uuid.uuid4().hex[:8]
    with Client(address, timeout="60s") as client:
        seed_future = client.scatter(seed, broadcast=True)
        futures = {}
        for task in tasks:
            key = f"grade-{task['chapter']}-{_safe(task['student'])}-{run}"
            futures[client.submit(grading_jobs.grade_submission, task, seed_future, key=key,
                                  pure=False)] = task
        for future in dask_completed(list(futures)):
            try:
                yield future.result()
            except Exception as err:  # noqa: BLE001  (a lost worker: report, go on)
                yield _failed(futures[future], err)


def _safe(text: str) -> str:
    return re.sub(r"[^\w.-]", "_", text)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="course.py grade",
        description="Autograde every submission of a chapter in parallel (see tools/grade.py).")
    parser.add_argument("chapter", help="the assignment id, e.g. ch00_latent_spaces")
    parser.add_argument("--jobs", "-j", type=int, default=None,
                        help="worker processes on this machine (default: every core)")
    parser.add_argument("--student", nargs="+", action="extend", default=None, metavar="ID",
                        help="grade only these students")
    parser.add_argument("--force", action="store_true",
                        help="regrade submissions that did not change since their last grading")
    parser.add_argument("--timeout", type=int, default=None, metavar="SECONDS",
                        help="per-cell time limit (default: Execute.timeout of nbgrader_config)")
    parser.add_argument("--dask", metavar="SCHEDULER_ADDRESS", default=None,
                        help="send the tasks to this Dask scheduler instead of local processes")
    parser.add_argument("--root", type=Path, default=Path.cwd(),
                        help="the course folder (default: the current folder)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    report = grade(args.chapter, args.root, jobs=args.jobs, students=args.student,
                   force=args.force, timeout=args.timeout, dask=args.dask,
                   progress=not args.no_progress)
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
