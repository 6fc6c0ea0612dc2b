"""``python -m stepgrad``."""

from .cli import run

run()
