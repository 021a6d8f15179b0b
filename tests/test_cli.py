"""The `replica` command, the README's commands and CI entry point."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from replica.cli import main

ROOT = Path(__file__).resolve().parents[1]


def test_quantizer_command(capsys):
    assert main(["quantizer", "--bits", "2", "--width", "1.5"]) == 0
    out = capsys.readouterr().out
    assert "[-1.5 -0.5  0.5  1.5]" in out and "E[z psi(z)]" in out


def test_quantizer_levels_and_grids(capsys):
    assert main(["quantizer", "--levels=-1,0.2,3"]) == 0
    assert main(["quantizer", "--bits", "3", "--width", "2", "--grid", "gaussian_quantile"]) == 0
    assert "gaussian_quantile" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["quantizer", "--bits", "0", "--width", "1"], "bits: expected an integer >= 1, got 0"),
        (["quantizer", "--bits", "2", "--width", "-1"], "width: expected a finite number > 0"),
        (["quantizer", "--levels", "1,0"], "levels: expected strictly increasing"),
        (["quantizer"], "--bits and --width"),
        (["phase", "--width", "1:2"], "--width: expected a comma list or lo:hi:n[:log]"),
        (["phase", "--alpha", "0:2:3:log"], "--alpha: expected"),
        (["phase", "--grid", "bogus"], "grid: expected one of"),
    ],
)
def test_bad_usage_is_one_line_exit_2(argv, needle, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert needle in err and err.count("\n") == 1 and "Traceback" not in err


def test_help_lists_subcommands(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for cmd in ("quantizer", "repro", "bench"):
        assert cmd in out


def test_console_script_runs():
    res = subprocess.run(
        [sys.executable, "-m", "replica.cli", "quantizer", "--bits", "1", "--width", "2"],
        capture_output=True, text=True, cwd=ROOT, check=True,
    )  # fmt: skip
    assert "E[psi(z)^2]   = 4" in res.stdout


def test_readme_commands_match_ci():
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"```bash\n(.*?)```", readme, re.S).group(1).strip().splitlines()
    assert len(block) == 2 and "replica repro --quick" in block[0]
    ci = (ROOT / ".ci" / "run").read_text().strip().splitlines()
    # CI runs the README's test command with -q installs exactly as written
    assert ci[-1] == block[1]


def test_rs_command(capsys):
    assert main(["rs", "--bits", "2", "--width", "3.0"]) == 0
    out = capsys.readouterr().out
    assert "gen_error   0.53" in out and "RS unstable" in out
    assert main(["rs", "--bits", "1", "--width", "1", "--alpha", "0.3", "--beta", "inf"]) == 1
    assert "no RS solution" in capsys.readouterr().out
    assert main(["rs", "--bits", "2", "--width", "1", "--alpha", "-1"]) == 2
    # a point where the start χ = 1 stalled (b=1, ω=3, α=0.6, β=100): the default converges
    argv = ["rs", "--bits", "1", "--width", "3", "--alpha", "0.6", "--beta", "100"]
    assert main(argv) == 0 and "status      converged" in capsys.readouterr().out
    # entropy crisis (issue 13): AT 0.58 < 1 but entropy −0.179: RS is not stable, and says why
    argv = ["rs", "--bits", "1", "--width", "3", "--alpha", "0.6", "--beta", "5"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "entropy     -0.1794" in out and "at          0.578" in out
    assert "RS unstable (entropy < 0 with AT < 1): entropy crisis" in out


def test_phase_command_prints_the_entropy_crisis(capsys):
    # issue 13: the zero-entropy line per line of the sweep, and the points labelled by it
    argv = ["phase", "--bits", "1", "--width", "0.5:3:11", "--alpha", "0.6", "--executor",
            "serial", "--quiet"]  # fmt: skip
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "entropy crisis (RS entropy = 0) at width = 2.10851" in out
    assert "RS 7, entropy crisis 4" in out


def test_advise_command(capsys):
    # η_c = 2(γ_x + λ)/γ_x² with γ_x = 0.9524 for 3 bits on [-2, 2] (card's table) → 2.100
    assert main(["advise", "--bits", "3"]) == 0
    out = capsys.readouterr().out
    assert "optimal width      2.63" in out and "RS stable (AT < 1, entropy >= 0)" in out
    assert "max stable learning rate  2.1" in out


def test_every_subcommand_has_complete_help(capsys):
    for cmd in ("quantizer", "rs", "advise", "phase", "repro", "bench"):
        with pytest.raises(SystemExit) as exc:
            main([cmd, "--help"])
        assert exc.value.code == 0
        out = capsys.readouterr().out
        assert "usage: replica " + cmd in out and "options:" in out


def test_phase_command_checkpoints_and_matches_api(tmp_path, capsys):
    # the AT crossing printed by the CLI is the one phase_diagram computes (Brent to 1e-8 in ω),
    # and a rerun with the same --out loads the finished sweep instead of recomputing it
    from replica import Quantizer
    from replica.io import load_netcdf
    from replica.phase import at_boundary
    from replica.regression import QuantizedRegression

    out = tmp_path / "phase.nc"
    argv = ["phase", "--bits", "1,2", "--width", "0.5:3:6", "--executor", "serial", "--quiet",
            "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    first = capsys.readouterr().out
    assert out.exists() and "points by phase: RS" in first
    model = QuantizedRegression(quantizer=Quantizer.uniform(2, 1.0), alpha=2.0, beta=5.0, noise=0.1)
    w_at = at_boundary(model, "width").value
    printed = float(re.search(r"bits=2: RS -> RSB at width = ([0-9.]+)", first).group(1))
    assert printed == pytest.approx(w_at, abs=1e-5)  # 6 significant digits printed
    mtime = out.stat().st_mtime_ns
    assert main(argv) == 0
    again = capsys.readouterr().out
    assert again == f"resumed 12/12 points from {out} (finished: nothing recomputed)\n" + first
    assert out.stat().st_mtime_ns == mtime
    assert load_netcdf(out)["phase"].shape == (2, 6)
