"""Figure output shared by the reproductions: one place decides size, resolution and cleanup."""

from __future__ import annotations

from pathlib import Path

DPI = 90  # the committed figures stay small (a few 100 kB each)


def save_figure(fig, path) -> Path:
    """Lay out, write (PNG at :data:`DPI`) and close ``fig``; return its path."""
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path
