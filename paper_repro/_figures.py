"""Figure output shared by the reproductions: one place decides size, resolution and cleanup."""

from __future__ import annotations

from pathlib import Path

DPI = 90  # the committed figures stay small (a few 100 kB each)


def save_figure(fig, path, rect=None) -> Path:
    """Lay out (``rect``: the part of the figure the axes may use, leaving room for a caption),
    write (PNG at :data:`DPI`) and close ``fig``; return its path."""
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout(rect=rect)
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path
