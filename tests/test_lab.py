"""`python3 course.py lab` serves the course: JupyterLab starts and lists the chapters."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from tools.chapters import ROOT, chapters, tool_env

pytestmark = pytest.mark.slow  # starts JupyterLab


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_jupyterlab_serves_the_notebooks(tmp_path):
    port = _free_port()
    cmd = [sys.executable, str(ROOT / "course.py"), "lab", "--no-browser", f"--port={port}",
           "--ServerApp.ip=127.0.0.1", "--IdentityProvider.token=", "--ServerApp.password="]
    env = tool_env(JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"),
                   JUPYTER_CONFIG_DIR=str(tmp_path / "config"))
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                with urllib.request.urlopen(f"{base}/api/contents/notebooks", timeout=2) as r:
                    listing = json.load(r)
                break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail(f"jupyter lab exited:\n{proc.stdout.read()[-3000:]}")
                time.sleep(0.5)
        else:
            pytest.fail("JupyterLab did not answer within 60 s")
        assert sorted(item["name"] for item in listing["content"]) == chapters()
        with urllib.request.urlopen(f"{base}/lab", timeout=5) as r:
            assert r.status == 200 and "JupyterLab" in r.read().decode()
        first = chapters()[0]
        with urllib.request.urlopen(f"{base}/api/contents/notebooks/{first}/{first}.ipynb",
                                    timeout=5) as r:
            assert json.load(r)["type"] == "notebook"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
