"""Source addresses as limits per source count them: an IPv6 host holds a whole /64."""

from __future__ import annotations

import ipaddress

UNKNOWN = "unknown"


def source_key(address: str | None) -> str:
    """The source that ``address`` counts as: an IPv4 address itself (also when written as an
    IPv4-mapped IPv6 address), an IPv6 address its /64 network, since a site is given at least
    that many and one address each would be no limit at all; ``UNKNOWN`` for no address or
    text that is none, so that all of those share one count."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return UNKNOWN
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)
