"""The ``replica`` command.

Every subcommand is a thin layer over the Python API. Invalid input prints one line
``replica: error: …`` and exits with status 2 (bad usage); a computation that fails exits with 1.

One module per subcommand group, each adding its parsers with ``register(sub)`` next to their
implementation: :mod:`~replica.cli.theory` (``quantizer``, ``rs``, ``advise``),
:mod:`~replica.cli.phase`, :mod:`~replica.cli.repro` and :mod:`~replica.cli.bench`; shared
argument helpers in :mod:`~replica.cli._args`. This module builds the parser and runs it
(``python -m replica.cli`` runs :mod:`~replica.cli.__main__`).
"""

from __future__ import annotations

import argparse
import os
import re
import sys

from .._version import __version__
from ..errors import ReplicaError
from . import bench, phase, repro, theory
from ._args import GRIDS  # noqa: F401  (re-exported)
from .theory import stability_verdict  # noqa: F401  (re-exported)

# an option value that starts with "-" and is a number, a list or a range of numbers
_NEGATIVE = re.compile(r"^-(\d|\.\d|inf\b)")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="replica",
        description="Statistical-physics theory of learning under quantization: replica theory of "
        "quantized regression, STE dynamics, quantized SGD and precision scaling laws.",
    )
    p.add_argument("--version", action="version", version=f"replica-theory {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    for group in (theory, phase, repro, bench):  # the order of ``replica --help``
        group.register(sub)
    return p


def _join_negative_values(argv: list[str]) -> list[str]:
    """``--levels -1,0,1`` as ``--levels=-1,0,1``: argparse takes a value starting with ``-``
    that is not a plain number (here a comma list) for an option and refuses it."""
    out: list[str] = []
    i = 0
    while i < len(argv):
        tok = argv[i]
        nxt = argv[i + 1] if i + 1 < len(argv) else None
        if (tok.startswith("--") and "=" not in tok and nxt is not None
                and _NEGATIVE.match(nxt)):  # fmt: skip
            out.append(f"{tok}={nxt}")
            i += 2
            continue
        out.append(tok)
        i += 1
    return out


class Terminated(BaseException):
    """SIGTERM arrived: unwind like Ctrl-C, so that process pools and files are closed."""


def _terminate_like_interrupt():
    """Turn SIGTERM into :class:`Terminated` in the main thread (the default action kills the
    process at once: its pool workers, forkserver and semaphores would outlive it)."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return None

    def handler(signum, frame):
        raise Terminated

    return signal.signal(signal.SIGTERM, handler)


def main(argv=None) -> int:
    parser = build_parser()
    argv = _join_negative_values(list(sys.argv[1:] if argv is None else argv))
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    previous = _terminate_like_interrupt()
    try:
        try:
            return args.func(args)
        except Terminated:
            print("replica: terminated", file=sys.stderr)
            return 143
        except ValueError as exc:
            print(f"replica: error: {exc}", file=sys.stderr)
            return 2
        except ReplicaError as exc:
            print(f"replica: error: {exc}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print("replica: interrupted", file=sys.stderr)
            return 130
        except BrokenPipeError:  # output piped into a pager or `head` that closed early
            # silence the flush of stdout at interpreter exit (Python docs, "Note on SIGPIPE")
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 0
    finally:
        if previous is not None:
            import signal

            signal.signal(signal.SIGTERM, previous)
