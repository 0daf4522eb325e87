"""Which addresses a webhook may reach: public ones only, unless OKR_WEBHOOKS_ALLOW_PRIVATE=1.

An endpoint's host is resolved and checked when it is registered, and every connection is
checked again, at the moment it is made, against the address it is about to connect to
(`guarded_socket`, aiohttp's socket factory): a name that resolved to a public address at
registration and to 10.0.0.5 or 169.254.169.254 later still cannot be reached.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from okr_shared.errors import Invalid

ALLOW_HINT = "okr delivers only to public addresses unless OKR_WEBHOOKS_ALLOW_PRIVATE=1"


class RefusedAddress(OSError):
    """A connection to an address that webhooks may not reach."""


def refusal(address: str) -> str | None:
    """Why `address` may not be reached, or None if it is a public address."""
    try:
        ip = ipaddress.ip_address(address.partition("%")[0])  # an IPv6 zone is not the address
    except ValueError:
        return f"{address} is not an IP address"
    if isinstance(ip, ipaddress.IPv6Address):
        # ::ffff:10.0.0.1 and 2002:0a00:0001:: reach the IPv4 address inside them.
        ip = ip.ipv4_mapped or ip.sixtofour or ip
    for kind, matches in (
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("unspecified", ip.is_unspecified),
        ("reserved", ip.is_reserved),
        ("private", ip.is_private),
        # fec0::/10, deprecated but still routed inside some networks; not is_private on 3.11.
        ("site-local", isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local),
    ):
        if matches:
            return f"{address} is a {kind} address"
    if not ip.is_global:
        return f"{address} is not a public address"
    return None


async def check_url(url: str, allow_private: bool) -> None:
    """Refuse an endpoint whose host resolves to any address webhooks may not reach."""
    if allow_private:
        return
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        found = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as err:
        raise Invalid(f"url: cannot resolve {host}: {err}") from None
    for *_, sockaddr in found:
        reason = refusal(str(sockaddr[0]))
        if reason:
            raise Invalid(f"url: {host} resolves to {reason}; {ALLOW_HINT}")


def guarded_socket(allow_private: bool) -> Callable[[tuple[Any, ...]], socket.socket]:
    """aiohttp's socket factory: called with the address each connection is about to be made
    to, after DNS, so what is checked is what is connected to."""

    def make(addr_info: tuple[Any, ...]) -> socket.socket:
        family, kind, proto, _, sockaddr = addr_info
        if not allow_private:
            reason = refusal(str(sockaddr[0]))
            if reason:
                raise RefusedAddress(f"refused to connect: {reason}; {ALLOW_HINT}")
        return socket.socket(family, kind, proto)

    return make
