"""Tables of the bureau's system: indicators (指标) with their values by period and yearly
targets.
"""

from __future__ import annotations
