"""First-run experience: the README's first command, verbatim, in a fresh virtual environment.

The checkout's tracked files (committed figures included) are copied to a temporary folder that
becomes a fresh git repository (a clean clone), the command is run with bash exactly as README.md
prints it, and

* every paper reproduction has written its quick figures and its data with a metadata record
  saying ``"quick": true`` under figures/quick/;
* ``git status`` is clean afterwards: the committed full figures are untouched;
* the package was installed from a wheel without a generic top-level ``paper_repro``: the
  reproductions ran from ``replica._repro``.

(The second README command is the one CI runs, `.ci/run`; tests/test_cli.py checks they are
identical.)
"""

from __future__ import annotations

import json
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
        if (ROOT / f).is_file():
            (work / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / f, work / f)
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.invalid"]
    for cmd in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "clean clone"]):
        subprocess.run([*git, *cmd], cwd=work, check=True, capture_output=True)
    res = subprocess.run(["bash", "-c", command], cwd=work, capture_output=True, text=True,
                         timeout=1500)  # fmt: skip
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    status = subprocess.run(["git", "status", "--porcelain"], cwd=work, capture_output=True,
                            text=True, check=True).stdout  # fmt: skip
    assert status == "", f"the quick run changed tracked files:\n{status[:2000]}"
    quick = work / "figures" / "quick"
    for name in paper_repro.names():
        figs = list((quick / name).glob("*.png"))
        assert figs, f"{name}: no figure written\n{res.stdout[-2000:]}"
        assert all(f.stat().st_size > 1000 for f in figs)
        metas = list((quick / "data" / name).glob("*.meta.json"))
        assert metas or list((quick / "data" / name).glob("*.nc")), name
        for m in metas:
            assert json.loads(m.read_text())["quick"] is True, m
        assert f"] {name}:" in res.stdout and "about" in res.stdout  # progress with estimate
    # installed from a wheel: replica._repro, no top-level paper_repro in site-packages
    site = next((work / ".venv" / "lib").glob("python3*/site-packages"))
    assert (site / "replica" / "_repro" / "__init__.py").is_file()
    assert not (site / "paper_repro").exists()
    assert any(site.glob("replica_theory-*.dist-info/licenses/LICENSE"))


@pytest.mark.slow
def test_readme_tour_runs_as_a_script(tmp_path):
    # every line of the README's API tour executes as printed, saved as a script without an
    # `if __name__ == "__main__":` guard and run with python, the way users try it (in a
    # scratch folder: it writes the phase-diagram checkpoint pd.nc)
    import os
    import sys

    readme = (ROOT / "README.md").read_text()
    code = re.search(r"## A short tour\n\n```python\n(.*?)```", readme, re.S).group(1)
    script = tmp_path / "tour.py"
    script.write_text(code + "\nprint('gen_error', sol.gen_error)\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    res = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True,
                         text=True, timeout=900, env=env)  # fmt: skip
    assert res.returncode == 0, res.stderr[-3000:]
    assert "freeze_support" not in res.stderr and "BrokenProcessPool" not in res.stderr
    gen_error = float(res.stdout.split("gen_error")[-1])
    assert gen_error == pytest.approx(0.253, abs=1e-3)
    assert (tmp_path / "pd.nc").exists()
