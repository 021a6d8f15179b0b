"""``replica bench``: exit status and bookkeeping (never the speed itself: no wall-clock asserts)."""

from __future__ import annotations

import math

import pytest

from replica import bench
from replica.cli import main


def test_forced_miss_exits_1(capsys):
    # an impossible target (1e9 times harder) must make the command fail, whatever the machine
    assert main(["bench", "quantizer", "--quick", "--target-scale", "1e9"]) == 1
    out = capsys.readouterr().out
    assert "MISS" in out and "0/4 ratios meet their targets" in out


def test_inaccurate_or_crashing_benchmark_is_a_miss(monkeypatch, capsys):
    fast_but_wrong = bench.Measurement(name="x", ratio=10.0, spread=(9.0, 11.0), target=1.0,
                                       accurate=False, accuracy="off by 1")  # fmt: skip
    assert fast_but_wrong.fast_enough and not fast_but_wrong.met

    def boom(quick):
        raise RuntimeError("broken baseline")

    monkeypatch.setitem(bench.BENCHMARKS, "boom", boom)
    monkeypatch.setitem(bench.BENCHMARKS, "wrong", lambda quick: [fast_but_wrong])
    monkeypatch.setitem(bench.DESCRIPTIONS, "boom", "raises")
    assert main(["bench", "boom", "wrong"]) == 1
    out = capsys.readouterr().out
    assert "broken baseline" in out and "INACC" in out and "0/2" in out


def test_targets_scale_in_the_hard_direction():
    up = bench.Measurement(name="a", ratio=6.0, spread=(5.0, 7.0), target=5.0)
    down = bench.Measurement(name="b", ratio=1.1, spread=(1.0, 1.2), target=1.2,
                             higher_is_better=False)  # fmt: skip
    assert up.met and down.met
    assert not up.scaled(2.0).met and not down.scaled(2.0).met
    assert math.isnan(bench.Measurement(name="c", ratio=math.nan, spread=(0, 0), target=1).ratio)
    assert not bench.Measurement(name="c", ratio=math.nan, spread=(0, 0), target=1).met


def test_interleaved_alternates_order():
    calls = []
    t = bench.interleaved([lambda: calls.append("A"), lambda: calls.append("B")], rounds=3,
                          min_time=0.0)  # fmt: skip
    assert t.shape == (3, 2)
    assert calls == ["A", "B", "A", "B", "B", "A", "A", "B"]  # warm-up, then A B, B A, A B


def test_bad_arguments():
    with pytest.raises(ValueError, match="expected names"):
        bench.run(["nope"], echo=lambda s: None)
    with pytest.raises(ValueError, match="target_scale"):
        bench.run(["quantizer"], echo=lambda s: None, target_scale=0)


def test_help_lists_every_benchmark(capsys):
    with pytest.raises(SystemExit):
        main(["bench", "--help"])
    out = capsys.readouterr().out
    for name in bench.BENCHMARKS:
        assert f"  {name} " in out
