"""Which client a connection counts against, for limits per client address.

An IPv4 address is one client (a factory's NAT address is one client too, hence limits sized
for many devices). An IPv6 host usually holds a whole /64 and picks addresses from it freely,
so an IPv6 address counts as its /64; an IPv4-mapped IPv6 address counts as the IPv4 address.
The HTTP server and the MQTT endpoint count under the same key.
"""

from __future__ import annotations

import ipaddress


def address_key(address: str) -> str:
    """The key connections are counted under: the address, or an IPv6 address's /64."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.IPv6Network((parsed, 64), strict=False))
    return str(parsed)


class AddressCounts:
    """Open connections per address key, under a limit (0: none); the HTTP server and the MQTT
    endpoint each hold one and log their own refusals."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.open: dict[str, int] = {}
        #: Connections refused for being over the limit, since start.
        self.refused = 0

    def admit(self, key: str) -> bool:
        """Count one more connection under ``key``; False (and counted as refused) when the
        key already holds the limit."""
        held = self.open.get(key, 0)
        if self.limit and held >= self.limit:
            self.refused += 1
            return False
        self.open[key] = held + 1
        return True

    def hold(self, key: str) -> None:
        """Count a connection that is open already, even over the limit."""
        self.open[key] = self.open.get(key, 0) + 1

    def release(self, key: str) -> None:
        held = self.open.get(key, 0) - 1
        if held > 0:
            self.open[key] = held
        else:
            self.open.pop(key, None)

    def held(self, key: str) -> int:
        return self.open.get(key, 0)
