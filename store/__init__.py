"""DuckDB storage: the only package that writes SQL."""

from store.db import Database, open_database

__all__ = ["Database", "open_database"]
