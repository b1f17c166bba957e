"""Where notices may go: the guard that keeps notification channels from reaching inside.

An enterprise admin writes a channel's URL or SMTP host, and shugu's server makes the connection
from inside the operator's network. Unchecked, a channel is a way to make the server talk to its
own loopback, to the factory LAN or to the cloud's metadata service (server-side request forgery).
The guard refuses every address that is not public, unless the operator allowed its network
(``serve --notify-allow-network CIDR``); cloud metadata addresses are refused even then.

It is applied twice (decision 0020): when channels are saved, so the person making the mistake
is told, and at every delivery, where the name is resolved once and the connection goes to the
address that was checked, so a DNS answer that changes between check and connect changes nothing.

Names are looked up in the guard's own few threads, all of a save's names at once, within one
deadline (``RESOLVE_DEADLINE_S``): a tenant whose names resolve slowly, or never, gets a 503 that
names the host, and neither the API's worker threads nor the event loop wait for its DNS.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from ipaddress import (
    IPv4Address,
    IPv4Network,
    IPv6Address,
    IPv6Network,
    ip_address,
    ip_network,
)

import httpx

from shugu.domain.errors import ShuguError, UnavailableError, ValidationError

from .channels import ChannelConfig, EmailChannel

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network
#: host, port → the addresses the name stands for (strings, as getaddrinfo gives them).
Resolver = Callable[[str, int], Sequence[str]]

#: Instance metadata services (AWS, GCP, Azure, OpenStack; AWS ECS tasks; Alibaba Cloud; AWS over
#: IPv6). They hand out cloud credentials to whoever asks from the machine: never a notice target,
#: whatever network the operator allows.
METADATA_ADDRESSES: frozenset[IPAddress] = frozenset(
    ip_address(text)
    for text in ("169.254.169.254", "169.254.170.2", "100.100.100.200", "fd00:ec2::254")
)
#: Carrier-grade NAT space (RFC 6598): not private in Python's table, not public either.
_SHARED_SPACE = ip_network("100.64.0.0/10")
#: The well-known NAT64 prefix (RFC 6052): its last 32 bits are an IPv4 address.
_NAT64 = ip_network("64:ff9b::/96")
#: The deprecated IPv4-compatible form ``::a.b.c.d``.
_IPV4_COMPATIBLE = ip_network("::/96")

#: How long one save of the settings, or one delivery, waits for all its names together.
RESOLVE_DEADLINE_S = 5.0
#: Threads looking names up, shared by every tenant: a name that never answers holds one of
#: them until the system's resolver gives up, and the deadline still bounds every wait.
RESOLVER_THREADS = 8

ALLOW_HINT = (
    "notices go only to public addresses; an operator can allow other networks (never cloud "
    "metadata) with shugu serve --notify-allow-network CIDR"
)


class TargetForbiddenError(ValidationError):
    """A channel names, or a delivery was sent on to, an address notices may not go to."""

    code = "notify_target_forbidden"


class TargetUnresolvableError(ValidationError):
    """A channel's host name has no address."""

    code = "notify_target_unresolvable"


class TargetResolveTimeoutError(UnavailableError):
    """A channel's host name did not resolve within the deadline: DNS may be slow right now,
    so this is a 503 to try again, not a verdict on the channel."""

    code = "notify_target_resolve_timeout"
    retry_after_s = 30.0


def system_resolver(host: str, port: int) -> list[str]:
    """The operating system's answer for ``host`` (both families), in its order of preference."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    seen: dict[str, None] = {}
    for *_, sockaddr in infos:
        seen.setdefault(str(sockaddr[0]), None)
    return list(seen)


def parse_networks(values: Iterable[str]) -> tuple[IPNetwork, ...]:
    """``10.20.0.0/16``, ``fd12::/48`` or one address → networks; a typo is an error, not a
    silently narrower allowance."""
    networks: list[IPNetwork] = []
    for value in values:
        try:
            networks.append(ip_network(value.strip(), strict=False))
        except ValueError as exc:
            raise ValidationError(
                f"notify allow-network {value!r} is not a network: write it as CIDR, "
                "e.g. 10.20.0.0/16 or fd12:3456::/48",
                code="notify_allow_network_invalid",
            ) from exc
    return tuple(networks)


def _embedded_ipv4(address: IPv6Address) -> list[IPv4Address]:
    """The IPv4 addresses an IPv6 address carries (6to4, Teredo, NAT64, the old compatible
    form): a route to any of them may be a route to the IPv4 address itself."""
    found: list[IPv4Address] = []
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address.teredo is not None:
        found.extend(address.teredo)
    if address in _NAT64 or (address in _IPV4_COMPATIBLE and int(address) > 1):
        found.append(IPv4Address(int(address) & 0xFFFFFFFF))
    return found


def _kind_of(address: IPAddress) -> str | None:
    """What makes ``address`` no place for a notice, or None for a public address."""
    if address.is_unspecified:
        return "the unspecified address"
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    if isinstance(address, IPv4Address) and address in _SHARED_SPACE:
        return "a carrier-grade NAT address"
    if address.is_reserved:
        return "a reserved address"
    if address.is_private:
        return "a private address"
    if not address.is_global:
        return "not a public address"
    return None


class TargetGuard:
    """Decides whether notices may be sent to an address, a host or a channel.

    ``allow`` lists the networks the operator opened (say, the LAN where the company's own mail
    relay lives); ``resolver`` answers host names (the system's by default; tests hand in one
    that answers what they need, DNS rebinding included).
    """

    def __init__(
        self,
        allow: Iterable[str | IPNetwork] = (),
        *,
        resolver: Resolver = system_resolver,
        resolve_deadline_s: float = RESOLVE_DEADLINE_S,
    ) -> None:
        self.allowed: tuple[IPNetwork, ...] = tuple(
            item if isinstance(item, IPv4Network | IPv6Network) else parse_networks([item])[0]
            for item in allow
        )
        self.resolver = resolver
        self.resolve_deadline_s = resolve_deadline_s
        self._lookups = ThreadPoolExecutor(RESOLVER_THREADS, thread_name_prefix="shugu-resolve")

    def refusal(self, address: IPAddress) -> str | None:
        """Why notices may not go to ``address`` ("127.0.0.1 is a loopback address"), or None."""
        if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
            # ::ffff:a.b.c.d is how a dual-stack socket reaches a.b.c.d: judge that address.
            return self.refusal(address.ipv4_mapped)
        if address in METADATA_ADDRESSES:
            return f"{address} is a cloud metadata address"
        if any(address in network for network in self.allowed):
            return None
        kind = _kind_of(address)
        if kind is not None:
            return f"{address} is {kind}"
        if isinstance(address, IPv6Address):
            for inner in _embedded_ipv4(address):
                why = self.refusal(inner)
                if why is not None:
                    return f"{address} leads to {inner}: {why}"
        return None

    def vet_host(self, host: str, port: int) -> list[IPAddress]:
        """The addresses ``host`` stands for, every one of them checked; connect to these.

        Raises ``TargetForbiddenError`` when any address is refused (a name with one public and
        one private address is refused: which one a connection takes is not ours to choose) and
        ``TargetUnresolvableError`` when the name has none.
        """
        literal = _literal(host)
        if literal is not None:
            answers: list[IPAddress] = [literal]
        else:
            try:
                answers = [ip_address(text) for text in self.resolver(host, port)]
            except (OSError, UnicodeError, ValueError) as exc:
                raise TargetUnresolvableError(
                    f"the host {host!r} cannot be resolved: {exc}", host=host
                ) from exc
            if not answers:
                raise TargetUnresolvableError(f"the host {host!r} has no address", host=host)
        for address in answers:
            why = self.refusal(address)
            if why is not None:
                named = "" if literal is not None else f" (the host {host!r} resolves to it)"
                raise TargetForbiddenError(
                    f"{why}{named}: {ALLOW_HINT}",
                    host=host,
                    address=str(address),
                )
        return answers

    def vet_url(self, url: str) -> list[IPAddress]:
        """``vet_host`` for the host of ``url`` as the HTTP client reads it."""
        parsed = httpx.URL(url)
        return self.vet_host(url_host(parsed), url_port(parsed))

    async def vet_hosts(
        self, targets: Sequence[tuple[str, int]]
    ) -> list[list[IPAddress] | ShuguError]:
        """``vet_host`` for every (host, port) at once, in the guard's threads, within
        ``resolve_deadline_s`` together: each target's addresses, or its refusal, or a
        ``TargetResolveTimeoutError`` for a name still unanswered at the deadline."""
        loop = asyncio.get_running_loop()
        pending: dict[tuple[str, int], asyncio.Future[list[IPAddress]]] = {}
        for host, port in dict.fromkeys(targets):
            if not is_address(host):  # an address needs no lookup, so no thread
                pending[(host, port)] = loop.run_in_executor(
                    self._lookups, self.vet_host, host, port
                )
        if pending:
            _done, late = await asyncio.wait(pending.values(), timeout=self.resolve_deadline_s)
            for future in late:
                future.cancel()  # queued lookups never start; a running one is left to end
        answers: list[list[IPAddress] | ShuguError] = []
        for host, port in targets:
            lookup = pending.get((host, port))
            try:
                if lookup is None:
                    answers.append(self.vet_host(host, port))
                elif lookup.cancelled() or not lookup.done():
                    answers.append(
                        TargetResolveTimeoutError(
                            f"the host {host!r} did not resolve within "
                            f"{self.resolve_deadline_s:g} s: check its DNS, or try again",
                            host=host,
                        )
                    )
                else:
                    answers.append(lookup.result())
            except (TargetForbiddenError, TargetUnresolvableError) as exc:
                answers.append(exc)
        return answers

    async def vet_channels(
        self, channels: Mapping[str, ChannelConfig], *, field: str = "channels"
    ) -> None:
        """Check every channel's target, as the settings are saved (all names at once, within
        the deadline); the error is the first channel's in order and names the field
        (``channels.1.url: channel 'ops': 10.0.0.5 is a private address …``)."""
        targets: list[tuple[str, int]] = []
        for channel in channels.values():
            if isinstance(channel, EmailChannel):
                targets.append((channel.host, channel.port))
            else:
                parsed = httpx.URL(channel.url)
                targets.append((url_host(parsed), url_port(parsed)))
        answers = await self.vet_hosts(targets)
        for index, (channel, answer) in enumerate(zip(channels.values(), answers, strict=True)):
            if isinstance(answer, ShuguError):
                name = "host" if isinstance(channel, EmailChannel) else "url"
                where = f"{field}.{index}.{name}"
                raise type(answer)(
                    f"{where}: channel {channel.name!r}: {answer.message}",
                    field=where,
                    **answer.details,
                ) from answer


def url_host(url: httpx.URL) -> str:
    """The name or address a connection for ``url`` looks up (IDNA-encoded, IPv6 unbracketed)."""
    return url.raw_host.decode("ascii")


def url_port(url: httpx.URL) -> int:
    return url.port or (443 if url.scheme == "https" else 80)


def is_address(host: str) -> bool:
    """Whether ``host`` is an IP address rather than a name to resolve."""
    return _literal(host) is not None


def _literal(host: str) -> IPAddress | None:
    try:
        return ip_address(host.strip("[]"))
    except ValueError:
        return None
