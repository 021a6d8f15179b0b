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


def test_advise_command(capsys):
    # η_c = 2(γ_x + λ)/γ_x² with γ_x = 0.9524 for 3 bits on [-2, 2] (card's table) → 2.100
    assert main(["advise", "--bits", "3"]) == 0
    out = capsys.readouterr().out
    assert "optimal width      2.63" in out and "stable (AT < 1)" in out
    assert "max stable learning rate  2.1" in out


def test_every_subcommand_has_complete_help(capsys):
    for cmd in ("quantizer", "rs", "advise", "repro", "bench"):
        with pytest.raises(SystemExit) as exc:
            main([cmd, "--help"])
        assert exc.value.code == 0
        out = capsys.readouterr().out
        assert "usage: replica " + cmd in out and "options:" in out
