"""A chapter opened on its own sets itself up, as on Colab without a clone.

The way Colab would run it: build the course's wheel; make a clean virtual environment
holding only what Colab preinstalls that the course needs (torch, numpy, matplotlib,
ipywidgets, tqdm, and ipykernel to run notebooks; no nbgrader, JupyterLab or papermill, and
no lessonlib); copy two student notebooks to a folder outside the repository; execute them
with nbclient in that environment. The first notebook's set-up cell installs the course from
the wheel (LESSONLIB_INSTALL_FROM stands in for the repository URL; PIP_NO_INDEX proves
nothing is downloaded), the data comes from inside the package (no LESSONLIB_DATA), and both
run to the end in fast mode.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tools.chapters import ROOT, release_ipynb

pytestmark = [pytest.mark.slow, pytest.mark.notebook]
CHAPTERS = ["ch00_latent_spaces", "ch02_variational_trick"]
COLAB_PACKAGES = ["torch", "numpy", "matplotlib", "ipywidgets", "tqdm", "ipykernel"]


def _run(cmd: list[str], **kwargs) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    assert proc.returncode == 0, f"{' '.join(cmd)}:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout


def _clean_env(tmp_path: Path) -> Path:
    """A venv with only Colab's preinstalled packages that the course needs; its python."""
    env_dir = tmp_path / "colab-env"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    _run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check",
          "-c", str(ROOT / "constraints.txt"), *COLAB_PACKAGES])
    return python


def _kernelspec(tmp_path: Path, python: Path) -> Path:
    spec = tmp_path / "jupyter" / "kernels" / "colab-like"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Colab-like", "language": "python"}))
    return tmp_path / "jupyter"


def test_a_student_notebook_opened_alone_installs_the_course_and_runs(tmp_path, monkeypatch):
    wheels = tmp_path / "wheels"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
          "-w", str(wheels), str(ROOT)])
    (wheel,) = wheels.glob("lessonlib-*.whl")
    python = _clean_env(tmp_path)
    present = _run([str(python), "-m", "pip", "list", "--format=freeze"]).lower()
    for absent in ("nbgrader", "jupyterlab", "papermill", "lessonlib"):
        assert f"{absent}==" not in present, f"{absent} must not be in the clean environment"

    work = tmp_path / "drive"  # outside the repository, like Colab's /content
    work.mkdir()
    assert not work.resolve().is_relative_to(ROOT)
    monkeypatch.setenv("JUPYTER_PATH", str(_kernelspec(tmp_path, python)))
    monkeypatch.setenv("LESSONLIB_INSTALL_FROM", str(wheel))
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("LESSONLIB_FAST", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    for var in ("LESSONLIB_DATA", "LESSONLIB_SOLUTIONS", "PYTHONPATH", "VIRTUAL_ENV"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("PATH", f"{python.parent}{os.pathsep}{os.environ['PATH']}")

    for i, chapter in enumerate(CHAPTERS):
        shutil.copy(release_ipynb(chapter), work / f"{chapter}.ipynb")
        nb = nbformat.read(work / f"{chapter}.ipynb", as_version=4)
        client = NotebookClient(nb, kernel_name="colab-like", timeout=600,
                                resources={"metadata": {"path": str(work)}})
        client.execute()
        errors = [o for c in nb.cells for o in c.get("outputs", [])
                  if o.get("output_type") == "error"]
        assert not errors, f"{chapter}: {errors[0]['ename']}: {errors[0]['evalue']}"
        setup = "".join(o.get("text", "") for o in nb.cells[2].get("outputs", []))
        if i == 0:
            assert "Installing the course package" in setup, "the first notebook installs it"
        else:
            assert "Installing" not in setup, "once installed, the set-up cell does nothing"
    where = _run([str(python), "-c", "import lessonlib, lessonlib.data as d; "
                  "print(lessonlib.__file__); print(d.find_data_dir())"], cwd=work)
    package_file, data_dir = where.split()
    assert Path(package_file).is_relative_to(python.parent.parent), "installed, not the repo"
    assert Path(data_dir).is_relative_to(python.parent.parent), "data from inside the package"
