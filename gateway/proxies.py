"""The client's address as the product's own reverse proxy reports it, and as no one else can forge it.

Every proxy appends the address it saw to `X-Forwarded-For`, and a client can start the header with
anything. So it is read from the right: the peer (`REMOTE_ADDR`), then each address of the header in
turn for as long as the one before it is a trusted proxy; the first address that is not a trusted
proxy is the client. A peer that is not a trusted proxy is the client itself, whatever it sends
(the same rule as werkzeug's ProxyFix, with the proxies named by address rather than counted, so
that a client reaching the gateway directly gets no extra allowance from a forged header).

Entries are addresses, networks or host names. Names are for Docker, where the proxy's address is
known only by its service name (compose's `frontend`, Swarm's `tasks.nginx`): they are resolved
when a connection needs them and remembered for a few seconds.
"""
from __future__ import annotations

import ipaddress
import socket
import threading
import time
from typing import Callable

from sentivis.settings import SettingsError

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
NAME_TTL_S = 5.0  # a proxy replaced by the orchestrator is followed within this long


def _resolve(name: str) -> set[str]:
    try:
        return {info[4][0] for info in socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP)}
    except OSError:
        return set()  # a name that does not resolve (yet) trusts no one


def _address(text: str) -> str | None:
    """A header entry as a canonical address, or None: ports, brackets and IPv4-mapped forms removed."""
    text = text.strip()
    if text.startswith("["):  # [v6]:port
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:  # v4:port
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    mapped = getattr(address, "ipv4_mapped", None)
    return str(mapped or address)


class TrustedProxies:
    """entries: the `SENTIVIS_TRUSTED_PROXIES` setting; resolve: name -> addresses; clock: monotonic
    seconds. A ValueError names an entry that is neither an address, a network nor a host name."""

    def __init__(self, entries: tuple[str, ...] | list[str], resolve: Callable[[str], set[str]] = _resolve,
                 clock: Callable[[], float] = time.monotonic):
        self.networks: list[Network] = []
        self.names: list[str] = []
        for entry in entries:
            try:
                self.networks.append(ipaddress.ip_network(entry.strip(), strict=False))
            except ValueError:
                name = entry.strip()
                if not name or any(c.isspace() or c in "/[]@" for c in name):
                    raise SettingsError(f"SENTIVIS_TRUSTED_PROXIES: {entry!r} is not an address, a network or a "
                                     "host name") from None
                self.names.append(name)
        self._resolve, self._clock = resolve, clock
        self._resolved: set[str] = set()
        self._resolved_at = -float("inf")
        self._lock = threading.Lock()

    def __bool__(self) -> bool:
        return bool(self.networks or self.names)

    def trusts(self, address: str | None) -> bool:
        if address is None:
            return False
        ip = ipaddress.ip_address(address)
        if any(ip in network for network in self.networks):
            return True
        return bool(self.names) and address in self._name_addresses()

    def _name_addresses(self) -> set[str]:
        with self._lock:
            if self._clock() - self._resolved_at >= NAME_TTL_S:
                self._resolved = set().union(*(self._resolve(name) for name in self.names))
                self._resolved = {a for a in map(_address, self._resolved) if a}
                self._resolved_at = self._clock()
            return self._resolved

    def client_address(self, environ: dict) -> str:
        """The address the per-client limits count: the peer's, or the one its trusted proxies report."""
        peer = _address(environ.get("REMOTE_ADDR") or "")
        if peer is None:
            return environ.get("REMOTE_ADDR") or "unknown"
        if not self or not self.trusts(peer):
            return peer
        hops = [h for h in (environ.get("HTTP_X_FORWARDED_FOR") or "").split(",") if h.strip()]
        client = peer
        for hop in reversed(hops):
            address = _address(hop)
            if address is None:
                break  # unreadable (written by the client, left of a real hop): the last address read stands
            client = address
            if not self.trusts(address):
                break
        return client
