"""The registry's part for the bureau's system: enterprise files (一企一档): yearly figures,
certifications, tag and tier definitions.
"""

from __future__ import annotations

from shugu.store.registry.core import RegistryCore


class EnterpriseFileMixin(RegistryCore):
    """Enterprise files (一企一档): yearly figures, certifications, tag and tier definitions."""
