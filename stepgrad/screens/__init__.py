"""The screens of the stepgrad app (the modal ones are imported when first shown)."""

from .main import MainScreen

__all__ = ["MainScreen"]
