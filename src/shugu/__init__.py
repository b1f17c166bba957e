"""shugu (数谷): an open industrial-internet platform for a district."""

__version__ = "0.1.0"
