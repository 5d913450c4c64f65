"""Who sent a request and whether it came over HTTPS: from the socket, or from a trusted reverse
proxy's headers.

Behind a reverse proxy that terminates TLS (Caddy, nginx: see the README) every request comes
from the proxy's address. Only when that address is in `[viewer] trusted_proxies`:
- the client is the last X-Forwarded-For entry (the one the proxy itself added; entries before
  it are whatever the client sent),
- the request was HTTPS when X-Forwarded-Proto says `https` (then the session cookie is Secure),
- the Host header is the name the proxy serves the page under; the proxy chose to forward it, so
  it is not held to this machine's names (the password guards the page: see `needs_password`).
From any other address these headers are ignored: a client cannot claim HTTPS or another address.
(Bottle's own `request.urlparts` believes X-Forwarded-Proto and -Host from anyone: not used here.)
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
ENVIRON_KEY = "geolocator.peer"


@dataclass(frozen=True)
class Peer:
    address: str  # the client's IP address as text ("" when unknown)
    https: bool
    proxied: bool  # came through a trusted proxy


def networks(proxies: Iterable[str]) -> tuple[Network, ...]:
    """`[viewer] trusted_proxies` as networks (the config has checked each)."""
    return tuple(ipaddress.ip_network(p, strict=False) for p in proxies)


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        ip = ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def peer_of(environ: dict[str, Any], trusted: tuple[Network, ...]) -> Peer:
    remote = environ.get("REMOTE_ADDR") or ""
    direct_https = environ.get("wsgi.url_scheme") == "https"
    ip = _ip(remote)
    if ip is None or not any(ip in net for net in trusted):
        return Peer(remote, direct_https, proxied=False)
    forwarded = (environ.get("HTTP_X_FORWARDED_FOR") or "").rsplit(",", 1)[-1]
    client = _ip(forwarded)
    proto = (environ.get("HTTP_X_FORWARDED_PROTO") or "").rsplit(",", 1)[-1].strip().lower()
    return Peer(str(client) if client else remote, direct_https or proto == "https", proxied=True)


def peer(environ: dict[str, Any]) -> Peer:
    """The request's peer, as the guard found it (before any route runs)."""
    found = environ.get(ENVIRON_KEY)
    if not isinstance(found, Peer):
        raise RuntimeError("the guard has not looked at this request")
    return found
