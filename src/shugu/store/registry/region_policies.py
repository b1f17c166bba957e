"""The registry's part for the bureau's system: policies (惠企政策), computed entitlements,
objections, innovation points.
"""

from __future__ import annotations

from shugu.store.registry.core import RegistryCore


class PolicyMixin(RegistryCore):
    """Policies (惠企政策), computed entitlements, objections, innovation points."""
