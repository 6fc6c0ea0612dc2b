"""stepgrad: step through backpropagation one node at a time, in your terminal."""

__version__ = "0.1.0"
__all__ = ["__version__"]
