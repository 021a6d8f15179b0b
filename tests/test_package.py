"""Package-level contracts of the design: light import, explicit public API."""

from __future__ import annotations

import subprocess
import sys

import replica


def test_import_is_light():
    # `import replica` must not import sympy or a GPU library (design rule 3 and 5)
    code = "import sys, replica; print(sorted(m for m in ('sympy', 'cupy', 'torch') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_public_api_resolves():
    for name in replica.__all__:
        assert getattr(replica, name) is not None
    assert replica.__version__.count(".") == 2
