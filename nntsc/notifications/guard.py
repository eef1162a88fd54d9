"""Where webhooks may go: only to global addresses, unless the operator allows a network.

Any logged-in user may make a webhook channel, and its POSTs leave from the
web app's or the workers' network. So that a user cannot aim them at
internal services (loopback, private, link-local, multicast, reserved or
other non-global addresses), every address the URL's host resolves to is
checked: when the channel is saved (`BadValue`, a 400) and again when a
message is sent (`SendFailed`), and the message is sent to the address that
was checked, so a DNS answer that changes in between (a rebind) is not
followed. ``nntsc.notification_webhook_allow`` (``NNTSC_NOTIFICATION_WEBHOOK_ALLOW``)
lists networks allowed despite being internal, such as the site's own chat
server.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from nntsc.errors import ConfigurationError

#: The setting listing networks webhooks may reach despite being internal.
ALLOW_SETTING = "nntsc.notification_webhook_allow"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class Refused(Exception):
    """A webhook host that resolves to an address not allowed, or does not resolve."""


def _plain(address: IPAddress) -> IPAddress:
    """An IPv4-mapped IPv6 address (``::ffff:127.0.0.1``) as the IPv4 address it is."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


@dataclass(frozen=True)
class WebhookPolicy:
    """The networks webhooks may reach although they are not global (none by default)."""

    allow: tuple[IPNetwork, ...] = ()

    @classmethod
    def from_settings(cls, settings: Mapping[str, str]) -> WebhookPolicy:
        text = str(settings.get(ALLOW_SETTING, "") or "")
        networks = []
        for part in text.replace(",", " ").split():
            try:
                networks.append(ipaddress.ip_network(part, strict=False))
            except ValueError:
                raise ConfigurationError(
                    f"{ALLOW_SETTING} {part!r}: expected networks such as 10.1.2.0/24 or fd00::/8"
                ) from None
        return cls(tuple(networks))

    def permits(self, address: IPAddress) -> bool:
        """Whether a webhook may be sent to `address`."""
        address = _plain(address)
        if any(address in network for network in self.allow):
            return True
        return address.is_global and not address.is_multicast

    def resolve(self, host: str, port: int) -> list[IPAddress]:
        """Every address of `host`, in the resolver's order; `Refused` unless all are permitted."""
        try:
            literal: IPAddress | None = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        if literal is not None:
            found = [literal]
        else:
            try:
                infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            except (OSError, UnicodeError):
                raise Refused(f"host {host} does not resolve") from None
            found = []
            for info in infos:
                address = ipaddress.ip_address(str(info[4][0]).partition("%")[0])
                if address not in found:
                    found.append(address)
            if not found:
                raise Refused(f"host {host} does not resolve")
        for address in found:
            if not self.permits(address):
                named = "" if literal is not None else f"host {host} resolves to "
                raise Refused(
                    f"{named}{address}, an internal address: webhooks go only to public "
                    f"addresses unless the operator allows the network ({ALLOW_SETTING})"
                )
        return found

    def check_url(self, url: str) -> list[IPAddress]:
        """The addresses of `url`'s host, all permitted (`Refused` otherwise)."""
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        return self.resolve(parts.hostname or "", port)
