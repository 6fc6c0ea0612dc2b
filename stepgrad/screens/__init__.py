"""The screens of the stepgrad app."""

from .help import HelpScreen
from .main import MainScreen

__all__ = ["HelpScreen", "MainScreen"]
