"""Tables of the bureau's system: the project library (项目库) and enterprise appeals (企业诉求)."""

from __future__ import annotations
