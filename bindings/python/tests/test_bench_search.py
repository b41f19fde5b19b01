"""bench/search_efficiency.py end to end on its tiny digits proxy, and its
Optuna genome space (skipped without Optuna: Debian's python3-optuna)."""

import importlib.util
import json
import math
import os
import xml.dom.minidom

import pytest

from conftest import REPO_ROOT

import evoopt

SCRIPT = os.path.join(REPO_ROOT, "bench", "search_efficiency.py")

optuna = pytest.importorskip("optuna")


def load_bench():
    spec = importlib.util.spec_from_file_location("search_efficiency",
                                                  SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_baselines_lie_in_the_optuna_space():
    bench = load_bench()
    for name in bench.BASELINES + ("paper-evolved",):
        g = evoopt.Genome.preset(name)
        params = bench.trial_params(g)
        assert bench.genome_from_trial(optuna.trial.FixedTrial(params)) == g
        space = {"K": (1, 4), "warmup_steps": bench.WARMUP}
        space.update(bench.REAL_GENES)
        for key, (lo, hi) in space.items():
            assert lo <= params[key] <= hi, (name, key)


def test_quantile_and_step_function():
    bench = load_bench()
    assert bench.quantile([3, 1, 2, 4], 0.5) == 2.5       # numpy's default
    assert bench.quantile([1, 2, 3, 4, 5], 0.25) == 2.0
    steps = [(1.0, 0.5, "a"), (3.0, 0.7, "b")]
    assert bench.at(steps, 0.5) is None
    assert bench.at(steps, 1.0)[2] == "a" and bench.at(steps, 2.9)[2] == "a"
    assert bench.at(steps, 3.0)[2] == "b"
    record = {"evaluations": [[0, 0.9, 1.0, None], [1, 0.4, 2.0, "x"],
                              [1, 0.4, 2.0, "y"], [1, 0.6, 0.5, "z"]]}
    # Only full evaluations (with a genome) count; a tie keeps the first.
    assert bench.best_so_far(record) == [(3.0, 0.4, "x"), (5.5, 0.6, "z")]


def test_smoke_run(tmp_path, capsys):
    bench = load_bench()
    out = tmp_path / "se"
    args = ["--smoke", "--seeds", "0", "--budget", "0.2", "--methods",
            "ga-mf,random,optuna", "--out", str(out)]
    assert bench.main(args) == 0
    for method in ("ga-mf", "random", "optuna"):
        with open(out / "runs" / ("%s-seed0.json" % method)) as f:
            run = json.load(f)
        # The budget, rounded up to whole core-seconds for every method
        # (the library's unit): no evaluation starts once 1 is spent.
        assert run["budget"] == 1.0
        costs = [e[2] for e in run["evaluations"]]
        assert math.fsum(costs[:-1]) < 1.0 <= math.fsum(costs)
        if method == "ga-mf":  # the library's own sum, in microseconds
            assert run["library_compute"] == pytest.approx(run["spent"],
                                                           abs=1e-4)
    lines = (out / "curves.csv").read_text().splitlines()
    assert lines[0].startswith("method,seed,core_seconds,search_best,heldout")
    assert any(line.startswith("optuna,median,") for line in lines)
    xml.dom.minidom.parse(str(out / "curves.svg"))
    text = (out / "report.md").read_text()
    assert "vs random search at equal compute" in text
    assert "<!-- notes -->" in text
    # Run again: the runs are reused, the hand-written notes kept.
    (out / "report.md").write_text(text.replace(
        "(Reading to be written.)", "Kept by hand."))
    assert bench.main(args + ["--report-only"]) == 0
    assert "Kept by hand." in (out / "report.md").read_text()
    # Other settings in the same folder are refused.
    with pytest.raises(SystemExit, match="other settings"):
        bench.main(args + ["--budget", "2"])
    capsys.readouterr()
