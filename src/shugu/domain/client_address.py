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
