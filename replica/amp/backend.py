"""Array backends for the AMP hot path: numpy (default), cupy, torch.

This is the only module of :mod:`replica` that names cupy or torch, and it imports them only when
such a backend is asked for, so ``import replica.amp`` never loads a GPU library. Everything
else works through the array-API namespace returned by :func:`namespace` (array-api-compat),
and results stay on the input's device.

Backend specifications accepted by :func:`resolve`:

* ``"numpy"`` — CPU (the default, used by the test suite);
* ``"cupy"`` — the current CUDA device;
* ``"torch"`` — CUDA when available, else CPU; ``"torch:cpu"``, ``"torch:cuda"``,
  ``"torch:cuda:1"`` choose explicitly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import array_api_compat
import numpy as np

from ..errors import check

__all__ = [
    "Backend",
    "available",
    "backend_of",
    "device_of",
    "namespace",
    "resolve",
    "scalar",
    "to_numpy",
]

_DTYPES = ("float64", "float32")


@dataclass(frozen=True, kw_only=True)
class Backend:
    """An array library, a device on it and a floating dtype.

    Attributes
    ----------
    name : {"numpy", "cupy", "torch"}
    device : str
        ``"cpu"``, ``"cuda"``, ``"cuda:1"`` … (cupy: the current device, ``"cuda"``).
    dtype : {"float64", "float32"}
    """

    name: str
    device: str = "cpu"
    dtype: str = "float64"

    def __post_init__(self):
        check(self.name in ("numpy", "cupy", "torch"), "backend", "numpy, cupy or torch", self.name)
        check(self.dtype in _DTYPES, "dtype", f"one of {_DTYPES}", self.dtype)

    @property
    def xp(self):
        """The array-API namespace (array-api-compat wrapper of the library)."""
        if self.name == "numpy":
            import array_api_compat.numpy as xp
        elif self.name == "cupy":
            import array_api_compat.cupy as xp
        else:
            import array_api_compat.torch as xp
        return xp

    @property
    def float_dtype(self):
        """The library's dtype object for :attr:`dtype`."""
        return getattr(self.xp, self.dtype)

    def asarray(self, x) -> Any:
        """``x`` (numpy array, list or an array of any backend) as a float array here."""
        if self.name == "numpy":
            return np.asarray(to_numpy(x), dtype=self.dtype)
        if self.name == "cupy":
            import cupy

            return cupy.asarray(x, dtype=self.dtype)
        import torch

        if not isinstance(x, torch.Tensor):
            host = np.ascontiguousarray(to_numpy(x))
            if not host.flags.writeable:  # torch tensors cannot share read-only memory
                host = host.copy()
            x = torch.from_numpy(host)
        return x.to(device=self.device, dtype=getattr(torch, self.dtype))

    def standard_normal(self, shape: tuple[int, ...], rng: np.random.Generator) -> Any:
        """Standard normal array of ``shape`` drawn *on the device* (no host copy of a large
        matrix), from a device generator seeded by one draw of the numpy ``rng``.

        The numpy backend draws from ``rng`` itself. Different backends therefore produce
        different (equally distributed) instances for the same seed.
        """
        if self.name == "numpy":
            return rng.standard_normal(shape, dtype=self.dtype)
        seed = int(rng.integers(2**62))
        if self.name == "cupy":
            import cupy

            return cupy.random.default_rng(seed).standard_normal(shape, dtype=self.dtype)
        import torch

        gen = torch.Generator(device=self.device).manual_seed(seed)
        return torch.randn(
            shape, generator=gen, device=self.device, dtype=getattr(torch, self.dtype)
        )

    def free_memory(self) -> int | None:
        """Bytes that a new array on this backend's device can use now (``None`` if unknown):
        available host memory on CPU, free device memory on a CUDA device."""
        if self.device == "cpu":
            import os

            try:
                return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")
            except (AttributeError, ValueError, OSError):  # not POSIX / name not supported
                return None
        if self.name == "cupy":
            import cupy

            return int(cupy.cuda.runtime.memGetInfo()[0])
        import torch

        return int(torch.cuda.mem_get_info(torch.device(self.device))[0])

    def synchronize(self) -> None:
        """Wait for queued device work (for timing); a no-op on CPU."""
        if self.name == "cupy":
            import cupy

            cupy.cuda.get_current_stream().synchronize()
        elif self.name == "torch" and self.device.startswith("cuda"):
            import torch

            torch.cuda.synchronize(self.device)


def _require(module: str, extra: str, spec) -> None:
    """Import ``module`` or say how to install it (the optional extra of replica-theory)."""
    import importlib

    try:
        importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(
            f"backend {spec!r}: needs {module}, which is not installed here ({exc}); install "
            f"the optional extra with: pip install 'replica-theory[{extra}]'"
        ) from None


def resolve(spec: str | Backend = "numpy", dtype: str = "float64") -> Backend:
    """A :class:`Backend` from a specification string (see the module docstring).

    Raises
    ------
    ValueError
        Unknown specification or dtype.
    ImportError
        The library is not installed.
    """
    if isinstance(spec, Backend):
        return spec
    check(isinstance(spec, str), "backend", "a string such as 'numpy', 'cupy', 'torch:cuda'", spec)
    check(dtype in _DTYPES, "dtype", f"one of {_DTYPES}", dtype)
    name, _, dev = spec.partition(":")
    if name == "numpy":
        check(dev in ("", "cpu"), "backend", "'numpy' (CPU only)", spec)
        return Backend(name="numpy", device="cpu", dtype=dtype)
    if name == "cupy":
        _require("cupy", "gpu", spec)

        check(dev in ("", "cuda"), "backend", "'cupy' (current CUDA device)", spec)
        return Backend(name="cupy", device="cuda", dtype=dtype)
    if name == "torch":
        _require("torch", "torch", spec)
        import torch

        if not dev:
            dev = "cuda" if torch.cuda.is_available() else "cpu"
        check(
            dev == "cpu" or dev.startswith("cuda"), "backend", "torch:cpu or torch:cuda[:i]", spec
        )
        return Backend(name="torch", device=dev, dtype=dtype)
    raise ValueError(f"backend: expected 'numpy', 'cupy' or 'torch[:device]', got {spec!r}")


def available() -> list[str]:
    """Backends usable on this machine (``"numpy"`` always; ``"cupy"``/``"torch:cuda"`` need a
    CUDA device; ``"torch:cpu"`` needs torch)."""
    out = ["numpy"]
    try:
        import cupy

        if cupy.cuda.runtime.getDeviceCount() > 0:
            out.append("cupy")
    except Exception:
        pass
    try:
        import torch

        out.append("torch:cpu")
        if torch.cuda.is_available():
            out.append("torch:cuda")
    except Exception:
        pass
    return out


def namespace(*arrays):
    """Array-API namespace of ``arrays`` (numpy arrays give the array-api-compat numpy one)."""
    return array_api_compat.array_namespace(*arrays)


def backend_of(x) -> Backend:
    """The :class:`Backend` an array lives on."""
    if array_api_compat.is_numpy_array(x):
        name, dev = "numpy", "cpu"
    elif array_api_compat.is_cupy_array(x):
        name, dev = "cupy", "cuda"
    elif array_api_compat.is_torch_array(x):
        name, dev = "torch", str(x.device)
    else:
        raise ValueError(f"array: expected a numpy, cupy or torch array, got {type(x).__name__}")
    dt = str(x.dtype).rpartition(".")[2]
    check(dt in _DTYPES, "dtype", f"one of {_DTYPES}", dt)
    return Backend(name=name, device=dev, dtype=dt)


def device_of(x) -> str:
    """Device of an array as a string (``"cpu"``, ``"cuda"``, ``"cuda:0"`` …)."""
    return backend_of(x).device


def to_numpy(x) -> np.ndarray:
    """Host copy (or view) of an array of any backend as numpy."""
    if isinstance(x, np.ndarray):
        return x
    if array_api_compat.is_cupy_array(x):
        return x.get()
    if array_api_compat.is_torch_array(x):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def scalar(x) -> float:
    """A 0-d array (any backend) as a Python float (synchronises a device)."""
    if isinstance(x, (int, float)):
        return float(x)
    return float(to_numpy(x))
