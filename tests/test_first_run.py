"""First-run experience: the README's first command, verbatim, in a fresh virtual environment.

The checkout's tracked files are copied to a temporary folder (so figures/ of the working tree
is untouched), the command is run with bash exactly as README.md prints it, and every paper
reproduction must have written its figures and its data with a metadata record. (The second
README command is the one CI runs, `.ci/run`; tests/test_cli.py checks they are identical.)
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

import paper_repro

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_readme_main_command_in_fresh_venv(tmp_path):
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs a git checkout to copy the tracked files")
    readme = (ROOT / "README.md").read_text()
    command = re.search(r"```bash\n(.*?)```", readme, re.S).group(1).strip().splitlines()[0]
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                           check=True).stdout.split()  # fmt: skip
    work = tmp_path / "checkout"
    for f in files:
        if (ROOT / f).is_file() and not f.startswith("figures/"):
            (work / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / f, work / f)
    res = subprocess.run(["bash", "-c", command], cwd=work, capture_output=True, text=True,
                         timeout=1500)  # fmt: skip
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    for name in paper_repro.available():
        figs = list((work / "figures" / name).glob("*.png"))
        assert figs, f"{name}: no figure written\n{res.stdout[-2000:]}"
        assert all(f.stat().st_size > 1000 for f in figs)
        data = list((work / "figures" / "data" / name).iterdir())
        assert any(p.name.endswith(".meta.json") or p.suffix == ".nc" for p in data), name


@pytest.mark.slow
def test_readme_tour_runs(tmp_path, monkeypatch):
    # every line of the README's API tour executes as printed (in a scratch folder: it writes
    # the phase-diagram checkpoint pd.nc)
    readme = (ROOT / "README.md").read_text()
    code = re.search(r"## A short tour\n\n```python\n(.*?)```", readme, re.S).group(1)
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    assert namespace["sol"].gen_error == pytest.approx(0.253, abs=1e-3)
    assert (tmp_path / "pd.nc").exists()
