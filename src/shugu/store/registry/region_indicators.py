"""The registry's part for the bureau's system: indicators (指标) with their values by period and
yearly targets.
"""

from __future__ import annotations

from shugu.store.registry.core import RegistryCore


class IndicatorMixin(RegistryCore):
    """Indicators (指标) with their values by period and yearly targets."""
