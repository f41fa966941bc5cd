"""Which webhook URLs provisio may call: https, and never an internal address (SSRF guard).

Checked when an exporter is saved and again at connect time (DNS may have changed). Development
and tests relax it with PROVISIO_WEBHOOK_ALLOW_HTTP and PROVISIO_WEBHOOK_ALLOWED_NETWORKS.
"""

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_METADATA = (
    ipaddress.ip_network("169.254.169.254/32"),  # AWS, GCP, Azure, OpenStack metadata
    ipaddress.ip_network("fd00:ec2::254/128"),  # AWS metadata over IPv6
    ipaddress.ip_network("100.100.100.200/32"),  # Alibaba Cloud metadata
)


class UnsafeWebhookUrl(ValueError):
    """The URL is not one provisio will call; the message says why."""


def parse_networks(text: str) -> tuple[IPNetwork, ...]:
    """`PROVISIO_WEBHOOK_ALLOWED_NETWORKS`: a comma-separated CIDR list."""
    try:
        return tuple(ipaddress.ip_network(part.strip()) for part in text.split(",") if part.strip())
    except ValueError as error:
        raise ValueError(f"PROVISIO_WEBHOOK_ALLOWED_NETWORKS: {error}") from error


@dataclass(frozen=True)
class UrlPolicy:
    allow_http: bool = False
    allowed_networks: tuple[IPNetwork, ...] = field(default_factory=tuple)

    def check_url(self, url: str) -> tuple[str, int]:
        """The URL's host and port, if its form is acceptable (no DNS involved)."""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as error:
            raise UnsafeWebhookUrl(f"not a valid URL: {error}") from None
        schemes = ("https", "http") if self.allow_http else ("https",)
        if parts.scheme not in schemes:
            raise UnsafeWebhookUrl("the URL must use https")
        if not parts.hostname:
            raise UnsafeWebhookUrl("the URL has no host")
        if parts.username is not None or parts.password is not None:
            raise UnsafeWebhookUrl("the URL must not carry credentials")
        return parts.hostname, port or (443 if parts.scheme == "https" else 80)

    def check_address(self, address: IPAddress) -> None:
        """Refuse loopback, private, link-local, multicast, reserved and metadata addresses."""
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if any(address in network for network in self.allowed_networks):
            return
        if any(address in network for network in _METADATA):
            raise UnsafeWebhookUrl(f"{address} is a cloud metadata address")
        if not address.is_global or address.is_multicast or address.is_reserved:
            raise UnsafeWebhookUrl(f"{address} is not a public address")

    async def resolve(self, url: str) -> list[IPAddress]:
        """Every address the URL's host resolves to, each checked; all must be allowed."""
        host, port = self.check_url(url)
        try:
            literal: IPAddress | None = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        if literal is not None:
            addresses: Iterable[IPAddress] = [literal]
        else:
            try:
                infos = await asyncio.get_running_loop().getaddrinfo(
                    host, port, type=socket.SOCK_STREAM
                )
            except OSError as error:
                raise UnsafeWebhookUrl(f"cannot resolve {host}: {error}") from None
            addresses = {ipaddress.ip_address(info[4][0]) for info in infos}
        checked = sorted(addresses, key=str)
        for address in checked:
            self.check_address(address)
        return checked
