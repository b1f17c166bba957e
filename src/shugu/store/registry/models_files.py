"""Tables of the bureau's system: enterprise files (一企一档): yearly figures,
certifications, tag and tier definitions.
"""

from __future__ import annotations
