"""The package version (one literal, read by pyproject.toml and by the modules that record it)."""

__version__ = "0.1.0"
