"""Tables of the bureau's system: monthly operation (经济运行监测): monthly reports, their reviews,
warnings.
"""

from __future__ import annotations
