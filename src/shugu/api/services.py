"""The long-lived services one shugu process holds, shared by all routes; built and run by
`shugu.runtime`, named here for the routes."""

from __future__ import annotations

from shugu.runtime import Services

__all__ = ["Services"]
