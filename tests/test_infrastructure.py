"""runmode, seeding, device, results, batching, training, pca, plots, widgets."""

from __future__ import annotations

import json

import matplotlib
import pytest
import torch

matplotlib.use("Agg")
from matplotlib.figure import Figure  # noqa: E402

from lessonlib.autoencoders import MLPVAE, ConvAutoencoder  # noqa: E402
from lessonlib.autoencoders.pca import PCA  # noqa: E402
from lessonlib.core import results  # noqa: E402
from lessonlib.core.batching import minibatches  # noqa: E402
from lessonlib.core.device import describe, get_device  # noqa: E402
from lessonlib.core.runmode import is_fast, is_grading, pick  # noqa: E402
from lessonlib.core.seeding import seed_everything  # noqa: E402
from lessonlib.core.training import train  # noqa: E402
from lessonlib.views.linear_bottleneck import (  # noqa: E402
    reconstruction_errors,
    render_linear_bottleneck,
)
from lessonlib.views.plots import image_rows, latent_scatter, loss_curves, to_grid  # noqa: E402
from lessonlib.views.widgets import (  # noqa: E402
    Choice,
    FloatSlider,
    IntSlider,
    Regenerate,
    Toggle,
    interactive,
    probe_render,
)


def test_runmode(monkeypatch):
    monkeypatch.delenv("LESSONLIB_FAST", raising=False)
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    assert not is_fast(False) and is_fast(True) and not is_grading()
    monkeypatch.setenv("LESSONLIB_FAST", "1")
    assert is_fast(False)
    monkeypatch.delenv("LESSONLIB_FAST")
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert is_fast(False) and is_grading()
    assert pick(100, 5, fast_mode=True) == 5 and pick(100, 5, fast_mode=False) == 100


def test_seed_everything_reproduces():
    seed_everything(3)
    a = torch.randn(4)
    gen = seed_everything(3)
    assert torch.equal(a, torch.randn(4))
    assert torch.equal(torch.randn(2, generator=gen), torch.randn(2, generator=seed_everything(3)))


def test_device(monkeypatch):
    monkeypatch.delenv("LESSONLIB_DEVICE", raising=False)
    assert get_device().type in {"cpu", "cuda", "mps"}
    assert get_device("cpu").type == "cpu"
    monkeypatch.setenv("LESSONLIB_DEVICE", "cpu")
    assert get_device().type == "cpu"
    assert "CPU" in describe(torch.device("cpu"))


def test_results_recorded_in_memory_and_on_disk(tmp_path, monkeypatch):
    monkeypatch.setenv("LESSONLIB_RESULTS_DIR", str(tmp_path))
    results.record("ch99_example", "loss", torch.tensor(1.23456789))
    results.record("ch99_example", "table", {"a": [1, 2.5]})
    assert results.recorded("ch99_example")["loss"] == pytest.approx(1.234568)
    on_disk = json.loads((tmp_path / "ch99_example.json").read_text())
    assert on_disk == {"loss": 1.234568, "table": {"a": [1, 2.5]}}
    assert results.load_dir(tmp_path)["ch99_example"]["table"]["a"] == [1, 2.5]


def test_minibatches_cover_the_data_and_reshuffle():
    x = torch.arange(10)
    it = minibatches(x, x * 2, batch_size=5, generator=torch.Generator().manual_seed(0))
    (a, a2), (b, _) = next(it), next(it)
    assert torch.equal(a2, a * 2)
    assert sorted(torch.cat([a, b]).tolist()) == list(range(10))
    with pytest.raises(ValueError):
        next(minibatches(x, batch_size=11))
    with pytest.raises(ValueError):
        next(minibatches(x, x[:3], batch_size=2))


def test_train_reduces_a_loss_and_logs_history():
    seed_everything(0)
    w = torch.nn.Parameter(torch.zeros(3))
    target = torch.tensor([1.0, -2.0, 0.5])
    batches = minibatches(target.repeat(8, 1), batch_size=4)

    def step(batch):
        (t,) = batch
        loss = (w - t).pow(2).sum(dim=1).mean()
        return {"loss": loss, "w0": w[0].detach()}

    history = train([w], step, batches, steps=200, lr=0.05, progress=False, clip=10.0)
    assert len(history["loss"]) == 200 and history["loss"][-1] < 1e-3 < history["loss"][0]
    assert history.last("w0", 10) == pytest.approx(1.0, abs=0.05)
    assert history.seconds > 0


def test_models_shapes():
    x = torch.rand(3, 1, 28, 28)
    assert ConvAutoencoder(8)(x).shape == (3, 1, 28, 28)
    vae = MLPVAE(z_dim=5)
    logits, mu, logvar, z = vae(x)
    assert logits.shape == (3, 784) and mu.shape == logvar.shape == z.shape == (3, 5)
    logits, mu, _, z = vae(x, sample=False)
    assert torch.equal(z, mu)


def test_pca_is_exact_at_full_rank_and_ordered():
    seed_everything(0)
    x = torch.randn(200, 6) @ torch.diag(torch.tensor([5.0, 3, 1, 0.5, 0.1, 0.01]))
    pca = PCA.fit(x)
    assert torch.allclose(pca.decode(pca.encode(x, 6)), x, atol=1e-4)
    errs = reconstruction_errors(pca, x, [1, 2, 6])
    assert errs[0] > errs[1] > errs[2] and pca.explained(1) > 0.6
    assert pca.explained(6) == pytest.approx(1.0)


def test_plots_draw():
    import matplotlib.pyplot as plt

    assert to_grid(torch.rand(5, 1, 4, 4), nrow=3).shape == (2 * 5 + 1, 3 * 5 + 1, 1)
    fig = image_rows({"a": torch.rand(4, 1, 8, 8), "b": torch.rand(4, 3, 8, 8)})
    assert isinstance(fig, Figure)
    fig2, ax = plt.subplots()
    latent_scatter(ax, torch.randn(20, 2), torch.randint(0, 10, (20,)))
    loss_curves(ax, {"loss": [3.0, 2.0, 1.0] * 20}, ["loss"], smooth=5)
    plt.close("all")


def test_probe_render_calls_every_extreme():
    seen = []

    def render(k, beta, mode, flag, seed):
        import matplotlib.pyplot as plt

        seen.append((k, beta, mode, flag, seed))
        return plt.figure()

    controls = [IntSlider("k", 1, 9, 3), FloatSlider("beta", 0.1, 10.0, 1.0, log=True),
                Choice("mode", ("a", "b", "c"), "b"), Toggle("flag"), Regenerate()]
    stats = probe_render(render, controls)
    assert (1, 1.0, "b", False, 0) in seen and (9, 1.0, "b", False, 0) in seen
    assert (3, 0.1, "b", False, 0) in seen and (3, 10.0, "b", False, 0) in seen
    assert (3, 1.0, "a", False, 0) in seen and (3, 1.0, "c", False, 0) in seen
    assert (3, 1.0, "b", True, 0) in seen and (3, 1.0, "b", False, 1) in seen
    assert stats["calls"] == len(seen) == len(set(seen))
    with pytest.raises(TypeError):
        probe_render(lambda k: None, [IntSlider("k", 0, 1, 0)])


def test_interactive_records_render_checks(tmp_path, monkeypatch):
    import matplotlib.pyplot as plt

    monkeypatch.setenv("LESSONLIB_RENDER_CHECK", "1")
    monkeypatch.setenv("LESSONLIB_RESULTS_DIR", str(tmp_path))
    box = interactive(lambda k: plt.figure(), [IntSlider("k", 0, 4, 2)], name="demo",
                      chapter="chY")
    assert box is not None
    assert json.loads((tmp_path / "chY.json").read_text())["render/demo"]["calls"] == 3


def test_render_linear_bottleneck_extremes():
    seed_everything(0)
    x = torch.rand(50, 1, 4, 4)
    pca = PCA.fit(x.reshape(50, -1))
    ks = [1, 4, 16]
    errs = reconstruction_errors(pca, x.reshape(50, -1), ks)
    for k in (1, 8, 16):
        fig = render_linear_bottleneck(k, pca=pca, images=x[:5], ks=ks, errors=errs)
        assert isinstance(fig, Figure)
        assert f"keeps {k}/16" in fig.axes[-1].get_title()


def test_conv_encoder_decoder_and_show_grid():
    import matplotlib.pyplot as plt

    from lessonlib.autoencoders.conv import ConvDecoder, ConvEncoder
    from lessonlib.core.training import History
    from lessonlib.views.plots import show_grid

    z = ConvEncoder(out_features=6, width=8)(torch.rand(2, 1, 28, 28))
    assert z.shape == (2, 6)
    assert ConvDecoder(latent_dim=6, width=8)(z).shape == (2, 1, 28, 28)
    fig, ax = plt.subplots()
    show_grid(ax, torch.rand(5, 1, 4, 4), nrow=3, title="five")
    assert ax.images[0].get_array().shape == (11, 16) and ax.get_title() == "five"
    plt.close(fig)
    history = History(loss=[4.0, 3.0, 2.0, 1.0])
    assert history.last("loss", 2) == 1.5 and history.last("loss") == 2.5


# ------------------------------------------------------- headless execution and exit codes


def _fake_execute(broken: str):
    """An executor for tools.results/tools.bench: chapter `broken` raises, the others print."""
    from tools.execute import Execution

    def fake(notebook, output, *, results_dir, **_):
        bad = notebook.stem == broken
        out = ({"output_type": "error", "ename": "ValueError", "evalue": "boom"} if bad else
               {"output_type": "stream", "name": "stdout", "text": "fine\n"})
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps({"cells": [{"cell_type": "code", "source": "step()",
                                                 "outputs": [out]}]}))
        return Execution(notebook=notebook, seconds=0.1, returncode=int(bad), log="",
                         results={}, output=output)

    return fake


def test_results_and_bench_exit_1_naming_the_failed_chapter(tmp_path, monkeypatch, capsys):
    import tools.bench as bench
    import tools.results as results_tool

    monkeypatch.setattr(results_tool, "ROOT", tmp_path)  # results/fast/ in tmp_path
    monkeypatch.setattr(results_tool, "execute", _fake_execute("ch02_bad"))
    assert results_tool.main(["ch01_good", "ch02_bad", "ch03_good"]) == 1
    out = capsys.readouterr().out
    assert "ch01_good: ok" in out and "ValueError: boom" in out
    assert out.rstrip().endswith("FAILED: ch02_bad")
    assert results_tool.main(["ch01_good"]) == 0
    assert "FAILED" not in capsys.readouterr().out

    monkeypatch.setattr(bench, "execute", _fake_execute("ch02_bad"))
    monkeypatch.setattr(bench, "check_timings", lambda repeat: [])
    assert bench.main(["--fast-only", "ch01_good", "ch02_bad"]) == 1
    out = capsys.readouterr().out
    assert "ValueError: boom" in out and out.rstrip().endswith("FAILED: ch02_bad (fast)")
    assert bench.main(["--fast-only", "ch01_good"]) == 0
    monkeypatch.setattr(bench, "check_timings", lambda repeat: [("kl", 1.0, 2.0, False)])
    assert bench.main(["--checks-only"]) == 1
    assert capsys.readouterr().out.rstrip().endswith("FAILED: check kl (rejects its reference)")


@pytest.mark.slow  # starts two kernels
def test_papermill_and_nbval_runs_report_prints_and_the_failing_cell(tmp_path):
    import nbformat

    from tools.execute import execute, execute_nbval

    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {
        "name": "python3", "display_name": "Python 3", "language": "python"}})
    nb.cells = [nbformat.v4.new_code_cell("FAST = False", metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell("import os\nprint('fast', FAST or 'LESSONLIB_FAST' "
                                          "in os.environ)"),
                nbformat.v4.new_code_cell("raise ValueError('boom')"),
                nbformat.v4.new_code_cell("print('after the error')")]
    path = tmp_path / "chZ" / "chZ.ipynb"
    path.parent.mkdir()
    nbformat.write(nb, path)
    runs = [execute(path, tmp_path / "out.ipynb", fast=True, results_dir=tmp_path / "r1"),
            execute_nbval(path, tmp_path / "cells.json", results_dir=tmp_path / "r2")]
    for run in runs:
        assert not run.ok and run.returncode != 0
        assert "fast True" in run.stdout_text() and "after the error" not in run.stdout_text()
        (error,) = run.cell_errors()
        assert error.startswith("ValueError: boom") and "raise ValueError" in error


def test_setup_reinstalls_for_dependency_changes_only(tmp_path, monkeypatch):
    import course

    monkeypatch.setattr(course, "ROOT", tmp_path)
    (tmp_path / "constraints.txt").write_text("torch==2.13.0\n")
    base = ('[project]\nname = "lessonlib"\ndependencies = ["torch>=2.2"]\n\n'
            '[tool.pytest.ini_options]\nmarkers = ["slow: slow"]\n')

    def stack_hash(pyproject: str) -> str:
        (tmp_path / "pyproject.toml").write_text(pyproject)
        return course._stack_hash()

    first = stack_hash(base)
    assert stack_hash(base.replace('"slow: slow"', '"slow: slow", "gpu: gpu"')) == first
    assert stack_hash(base + "\n[tool.ruff]\nline-length = 99\n") == first
    assert stack_hash(base.replace("torch>=2.2", "torch>=2.3")) != first
    assert stack_hash(base + '\n[tool.setuptools.package-data]\nlessonlib = ["*.npz"]\n') != first
    (tmp_path / "constraints.txt").write_text("torch==2.14.0\n")
    assert stack_hash(base) != first
