"""Which address a request comes from, for the per-address limits (throttle.py).

The peer's own address, unless the peer is a proxy named in PLANET_TRUSTED_PROXIES: then X-Forwarded-For is read
from its right end (each proxy appends the address it received from) past every trusted proxy, and the first
address that is not one is the client. Entries to its left were written by the client itself and are never
believed. With no trusted proxy configured the header is ignored: behind an unconfigured proxy every client
shares the proxy's address, which the README's production section warns of. Uvicorn's --proxy-headers with
--forwarded-allow-ips does the same one level down, by rewriting the peer address itself."""

from __future__ import annotations

import functools
import ipaddress

from django.conf import settings
from django.http import HttpRequest

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def client_address(request: HttpRequest) -> str:
    peer = str(request.META.get("REMOTE_ADDR", ""))
    proxies = _networks(tuple(settings.PLANET_TRUSTED_PROXIES))
    if not proxies or not _is_trusted(peer, proxies):
        return peer
    nearest = peer
    for hop in reversed(str(request.META.get("HTTP_X_FORWARDED_FOR", "")).split(",")):
        address = _address(hop.strip())
        if address is None:
            return nearest  # a hop no proxy would write: the last address a trusted proxy vouched for
        if not any(address in network for network in proxies):
            return str(address)
        nearest = str(address)
    return nearest


@functools.lru_cache(maxsize=4)
def _networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def _is_trusted(peer: str, proxies: tuple[Network, ...]) -> bool:
    address = _address(peer)
    return address is not None and any(address in network for network in proxies)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None
