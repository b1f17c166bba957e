"""The registry's part for the bureau's system: monthly operation (经济运行监测): monthly
reports, their reviews, warnings.
"""

from __future__ import annotations

from shugu.store.registry.core import RegistryCore


class OperationMixin(RegistryCore):
    """Monthly operation (经济运行监测): monthly reports, their reviews, warnings."""
