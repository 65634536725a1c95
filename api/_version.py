"""The single source of hrvpace's version number."""

__version__ = "0.1.0"
