"""The SDK's version (the wheel's)."""

__version__ = "0.1.0"
