"""Tables of the bureau's system: policies (惠企政策), computed entitlements, objections, innovation
points.
"""

from __future__ import annotations
