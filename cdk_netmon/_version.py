"""The package's version: pyproject.toml reads it from here, so there is one source."""

__version__ = "0.3.0"
