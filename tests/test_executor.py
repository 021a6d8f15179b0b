"""The default executor: serial for small work, a reused pool for large work, and scripts
without an ``if __name__ == "__main__":`` guard work (serially, with one warning)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from replica import _executor

ROOT = Path(__file__).resolve().parents[1]

# a figure script as users write them: no __main__ guard, default arguments everywhere
UNGUARDED = textwrap.dedent(
    """
    import warnings
    import numpy as np
    import replica
    from replica import Quantizer, QuantizedRegression, _executor

    warnings.simplefilter("always")
    model = QuantizedRegression(quantizer=Quantizer.uniform(2, 1.5), alpha=2.0, beta=5.0,
                                noise=0.1)
    ds = replica.phase_diagram(model, bits=[1, 2, 3], width=np.geomspace(0.2, 8, 12))
    print("phases", sorted(set(ds["phase"].values.flat)))
    print("optimal", replica.optimal_width(model).status)
    print("boundary", replica.at_boundary(model, vary="width").status)
    # a large diagram: force the pool rule (as if the work were long); from this unguarded
    # top-level code processes cannot start, so both calls run serially with ONE warning
    _executor.NEW_POOL_SECONDS = _executor.WARM_POOL_SECONDS = 0.0
    for _ in range(2):
        big = replica.phase_diagram(model, bits=[1, 2, 3], width=np.geomspace(0.2, 8, 6),
                                    progress=False)
    print("pool", _executor._pool is not None)
    print("same", bool((big["phase"] == replica.phase_diagram(
        model, bits=[1, 2, 3], width=np.geomspace(0.2, 8, 6), executor="serial",
        progress=False)["phase"]).all()))
    """
)


def _run(tmp_path, code):
    script = tmp_path / "figure.py"
    script.write_text(code)
    env = {"PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
           "PATH": "/usr/bin:/bin"}  # fmt: skip
    return subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300, env=env)  # fmt: skip


def test_unguarded_script_with_default_arguments_works(tmp_path):
    res = _run(tmp_path, UNGUARDED)
    assert res.returncode == 0, res.stderr[-3000:]
    out = res.stdout
    assert "optimal converged" in out and "boundary converged" in out
    assert "pool False" in out and "same True" in out
    assert "freeze_support" not in res.stderr and "BrokenProcessPool" not in res.stderr
    # exactly one warning, pointing at the user's line and saying how to enable processes
    assert res.stderr.count("UserWarning") == 1, res.stderr
    assert "figure.py" in res.stderr and 'if __name__ == "__main__":' in res.stderr


def test_guarded_script_uses_the_pool(tmp_path):
    head, _, body = UNGUARDED.partition('warnings.simplefilter("always")\n')
    guarded = (head + 'warnings.simplefilter("always")\n\n\ndef main():\n'
               + textwrap.indent(body, "    ") + '\n\nif __name__ == "__main__":\n    main()\n')  # fmt: skip
    res = _run(tmp_path, guarded)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "pool True" in res.stdout and "same True" in res.stdout
    assert "UserWarning" not in res.stderr


def test_unguarded_detection(tmp_path, monkeypatch):
    script = tmp_path / "s.py"
    script.write_text('x = 1\nif __name__ == "__main__":\n    y = 2\n    z = 3\n')
    main = type(sys)("__main__")
    main.__file__ = str(script)
    monkeypatch.setitem(sys.modules, "__main__", main)
    # a call from line 1 (top level) is unguarded, from lines 3-4 (the guard's body) it is not
    for line, expected in ((1, str(script)), (3, None), (4, None)):
        code = compile("\n" * (line - 1) + "result = unguarded_main()", str(script), "exec")
        ns = main.__dict__
        ns["unguarded_main"] = _executor.unguarded_main
        exec(code, ns)
        assert ns["result"] == expected, line
    del main.__file__  # interactive sessions and notebooks have no script to re-run
    assert _executor.unguarded_main() is None


@pytest.mark.parametrize("n, workers", [(1, 2), (7, 2), (8, 2), (100, 2), (5, 3)])
def test_chunks_cover_the_tasks_in_order(n, workers):
    items = list(range(n))
    chunks = _executor.chunks(items, workers)
    assert [i for c in chunks for i in c] == items
    assert len(chunks) == min(n, workers * _executor.CHUNKS_PER_WORKER)
    assert max(map(len, chunks)) - min(map(len, chunks)) <= 1
