"""Where independent tasks run: this process, a reused local process pool, or an executor given.

Infrastructure only (it never imports the physics it runs). The rules of the default:

* serial when the work is small: the first task runs in this process and is timed, and the pool
  is used for the rest only when their estimated serial time pays for starting it (a pool that
  is already running costs little, a new one about a second of imports per worker);
* otherwise a local process pool (forkserver or spawn, never fork) that is created once and
  reused by later calls, fed with chunks of several tasks so that per-task overhead stays small;
* a script that calls from its top level without an ``if __name__ == "__main__":`` guard cannot
  start worker processes (each would re-run the script): it is detected, and the work runs
  serially with one warning that says how to enable processes.
"""

from __future__ import annotations

import ast
import atexit
import multiprocessing
import os
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool

__all__ = ["available_cpus", "shutdown_pool", "unguarded_main"]

#: estimated serial seconds of the remaining tasks above which a new pool is started
NEW_POOL_SECONDS = 6.0
#: the same for a pool that is already running (reused from an earlier call)
WARM_POOL_SECONDS = 0.5
#: chunks per worker: several, for load balance, but few, for small per-task overhead
CHUNKS_PER_WORKER = 4

_pool: ProcessPoolExecutor | None = None
_pool_workers = 0
_warned: set[str] = set()


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def _mp_context():
    methods = multiprocessing.get_all_start_methods()
    # never fork a process that may run threads (dask, BLAS): forkserver or spawn are safe
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


def _is_main_test(node) -> bool:
    """``__name__ == "__main__"`` (either order)."""
    if not (isinstance(node, ast.Compare) and len(node.ops) == 1):
        return False
    if not isinstance(node.ops[0], ast.Eq):
        return False
    sides = [node.left, node.comparators[0]]
    names = [s for s in sides if isinstance(s, ast.Name) and s.id == "__name__"]
    consts = [s for s in sides if isinstance(s, ast.Constant) and s.value == "__main__"]
    return len(names) == 1 and len(consts) == 1


def unguarded_main() -> str | None:
    """The ``__main__`` script's path when the current call comes from its top-level code outside
    an ``if __name__ == "__main__":`` block (worker processes would re-run that code), else None.

    Interactive sessions, ``python -c`` and Jupyter kernels have no script to re-run; a module
    run with ``python -m`` is re-imported under another name, so its guard works as in a script.
    """
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if main is None or path is None:
        return None
    if os.path.splitext(os.path.basename(path))[0] == "__main__":
        return None  # multiprocessing never re-runs a package's __main__.py
    spec = getattr(main, "__spec__", None)
    if spec is not None and getattr(spec, "name", "").endswith(".__main__"):
        return None
    line = None
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_globals is main.__dict__ and frame.f_code.co_name == "<module>":
            line = frame.f_lineno
            break
        frame = frame.f_back
    try:
        with open(path, "rb") as fh:
            tree = ast.parse(fh.read(), filename=path)
    except (OSError, SyntaxError, ValueError):
        return path  # cannot tell: assume the worst, processes would crash
    guards = [n for n in ast.walk(tree) if isinstance(n, ast.If) and _is_main_test(n.test)]
    if line is None:  # not called from the script's code itself (a callback, a thread)
        return None if guards else path
    for g in guards:
        first, last = g.body[0].lineno, max(getattr(s, "end_lineno", s.lineno) for s in g.body)
        if first <= line <= last:
            return None
    return path


def _user_stacklevel() -> int:
    """``stacklevel`` for :func:`warnings.warn` called here that points at the first frame
    outside this package (the user's call)."""
    pkg = os.path.dirname(os.path.abspath(__file__))
    level, frame = 1, sys._getframe(1)
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(pkg):
        level, frame = level + 1, frame.f_back
    return level


def warn_unguarded(path: str, what: str) -> None:
    """One warning per script: processes cannot be used, the work runs serially."""
    if path in _warned:
        return
    _warned.add(path)
    warnings.warn(
        f"{what}: running serially in this process, because {os.path.basename(path)} calls it "
        'from top-level code without an `if __name__ == "__main__":` guard (worker processes '
        "re-import the script, which would run it again). To use processes, put the script's "
        'code under `if __name__ == "__main__":`; pass executor="serial" to silence this.',
        UserWarning,
        stacklevel=_user_stacklevel(),
    )


def shutdown_pool() -> None:
    """Stop the reused local process pool (a later call starts a new one)."""
    global _pool, _pool_workers
    if _pool is not None:
        _pool.shutdown(wait=True, cancel_futures=True)
    _pool, _pool_workers = None, 0


atexit.register(shutdown_pool)


def _discard_pool() -> None:
    """Stop the pool now (interrupted or terminated mid-way): its workers are terminated, not
    waited for, so that the process can exit (at exit, concurrent.futures would otherwise
    join the running tasks)."""
    global _pool, _pool_workers
    if _pool is not None:
        procs = list((getattr(_pool, "_processes", None) or {}).values())
        _pool.shutdown(wait=False, cancel_futures=True)
        for p in procs:
            if p.is_alive():
                p.terminate()
    _pool, _pool_workers = None, 0


def _alive(pid: int) -> bool:
    """Whether process ``pid`` still runs (a zombie, dead but not yet reaped, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else (pid reused): not our parent
        return False
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rpartition(")")[2].split()[0] != "Z"
    except OSError:  # no /proc (macOS): kill(0) is the answer
        return True


def _watch_parent(pid: int, period: float = 0.5) -> None:
    """Exit this worker once the process that owns the pool is gone (killed by SIGKILL, it
    cannot shut the pool down: the workers would otherwise run on for good)."""
    while _alive(pid):
        time.sleep(period)
    os._exit(0)


def _worker_init(parent: int | None = None) -> None:
    """In each worker: Ctrl-C (or a Jupyter kernel's interrupt) is the parent's to handle; the
    workers would otherwise each print a KeyboardInterrupt traceback. A daemon thread watches
    the parent and ends the worker when it dies."""
    import signal
    import threading

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if parent is not None:
        threading.Thread(target=_watch_parent, args=(parent,), daemon=True,
                         name="replica-parent-watch").start()  # fmt: skip


def pool_is_warm(workers: int) -> bool:
    """Whether a healthy reused pool with at least ``workers`` processes is running."""
    return _pool is not None and _pool_workers >= workers and not getattr(_pool, "_broken", False)


def get_pool(workers: int) -> ProcessPoolExecutor:
    """The reused local pool with at least ``workers`` processes (started anew when there is
    none, when it is broken or smaller)."""
    global _pool, _pool_workers
    if not pool_is_warm(workers):
        shutdown_pool()
        _pool = ProcessPoolExecutor(max_workers=workers, mp_context=_mp_context(),
                                    initializer=_worker_init, initargs=(os.getpid(),))  # fmt: skip
        _pool_workers = workers
    return _pool


def chunks(items: list, workers: int) -> list[list]:
    """Contiguous chunks of ``items``: ``CHUNKS_PER_WORKER`` per worker (fewer if short)."""
    n = max(1, min(len(items), workers * CHUNKS_PER_WORKER))
    size, extra = divmod(len(items), n)
    out, start = [], 0
    for i in range(n):
        stop = start + size + (i < extra)
        out.append(items[start:stop])
        start = stop
    return [c for c in out if c]


def run_local(tasks, fn, chunk_fn, max_workers, what):
    """Yield ``(key, fn(arg))`` for ``tasks`` (a list of ``(key, arg)``) by the default rules.

    ``chunk_fn`` maps a list of ``arg`` to the list of ``fn`` results in a worker process (a
    module-level function, importable by the workers). ``max_workers=None`` chooses by the
    rules above; 1 forces this process; more forces a pool of that size (still serial, with the
    warning, from an unguarded script).
    """
    tasks = list(tasks)
    if not tasks:
        return
    workers = max_workers if max_workers is not None else available_cpus()
    workers = max(1, min(workers, len(tasks)))
    rest = tasks
    if max_workers is None:
        if workers > 1 and len(tasks) > 1:
            # time the first task here: the estimate of the rest decides serial vs pool
            t0 = time.perf_counter()
            key, arg = tasks[0]
            yield key, fn(arg)
            elapsed = time.perf_counter() - t0
            rest = tasks[1:]
            workers = min(workers, len(rest))
            need = WARM_POOL_SECONDS if pool_is_warm(workers) else NEW_POOL_SECONDS
            if elapsed * len(rest) < need:
                workers = 1
        else:
            workers = 1
    if workers > 1:
        path = unguarded_main()
        if path is not None:
            warn_unguarded(path, what)
            workers = 1
    if workers == 1:
        for key, arg in rest:
            yield key, fn(arg)
        return
    for attempt in range(2):
        pool = get_pool(workers)
        try:
            futures = {}
            for chunk in chunks(rest, workers):
                keys = [k for k, _ in chunk]
                futures[pool.submit(chunk_fn, [a for _, a in chunk])] = keys
            break
        except BrokenProcessPool:  # a pool left broken by an earlier crash: start afresh once
            shutdown_pool()
            if attempt:
                raise
    try:
        for fut in as_completed(futures):
            for key, res in zip(futures[fut], fut.result()):
                yield key, res
    except BaseException:
        for fut in futures:
            fut.cancel()
        if any(fut.running() for fut in futures):  # stopped mid-way: do not wait for it
            _discard_pool()
        raise
