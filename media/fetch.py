"""Fetching a learner's photo from a URL without reaching inside our network (no SSRF).

Every hop (the URL and each redirect) must be https (http too on the embedded default); its host must
resolve only to public addresses (no loopback, private, link-local, metadata, multicast or reserved
ones), checked when the connection is made, so a DNS answer cannot change between the check and the
connect; the whole fetch has one deadline and a size cap; and the body must decode as a JPEG, PNG or
WebP image of bounded size.
"""

from __future__ import annotations

import io
import ipaddress
import socket
import ssl
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpcore
from PIL import Image

FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], list[str]]


class FetchRefused(ValueError):
    """The URL or what it answered is not a photo we may fetch; the message says why."""


@dataclass(frozen=True)
class Photo:
    """Image bytes checked by decoding, with their type and size."""

    data: bytes
    content_type: str
    width: int
    height: int


def declared(image: Image.Image, *, max_pixels: int) -> str:
    """The content type of an opened (not yet decoded) ``image`` if its header declares a JPEG, PNG or WebP of
    at most ``max_pixels``; else ``FetchRefused``. Reads the header only: a forged size costs nothing here."""
    kind = image.format or ""
    if kind not in FORMATS:
        raise FetchRefused(f"unsupported image type {kind or 'unknown'}: send a JPEG, PNG or WebP")
    width, height = image.size
    if width * height > max_pixels:
        raise FetchRefused(f"the image is {width}x{height} pixels, more than {max_pixels:,}")
    return FORMATS[kind]


def check_header(data: bytes, *, max_pixels: int) -> str:
    """The content type ``data`` declares, checked as ``declared`` does without decoding a pixel."""
    if not data:
        raise FetchRefused("the file is empty")
    try:
        with Image.open(io.BytesIO(data)) as image:
            return declared(image, max_pixels=max_pixels)
    except FetchRefused:
        raise
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as error:
        raise FetchRefused(f"not an image: {error}") from error


def decode_photo(data: bytes, *, max_pixels: int) -> Photo:
    """``data`` if it decodes fully as a JPEG, PNG or WebP of at most ``max_pixels``; else ``FetchRefused``."""
    if not data:
        raise FetchRefused("the file is empty")
    try:
        with Image.open(io.BytesIO(data)) as image:
            content_type = declared(image, max_pixels=max_pixels)  # before any pixel is decoded
            width, height = image.size
            image.load()  # decode every pixel: a truncated or forged file fails here
    except FetchRefused:
        raise
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as error:
        raise FetchRefused(f"not an image: {error}") from error
    return Photo(data=data, content_type=content_type, width=width, height=height)


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise FetchRefused(f"the host {host} does not resolve: {error.strerror}") from error
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


GLOBAL_UNICAST = ipaddress.ip_network("2000::/3")  # every public IPv6 address today is in it
TRANSLATED = (  # reach the IPv4 address in their last 32 bits: judged by that address
    ipaddress.ip_network("::ffff:0:0/96"),  # IPv4-mapped (RFC 4291)
    ipaddress.ip_network("64:ff9b::/96"),  # NAT64 well-known prefix (RFC 6052)
)
TUNNELLED = (  # IANA's special-purpose prefixes that embed or translate IPv4 in other ways: refused outright
    ipaddress.ip_network("::/96"),  # IPv4-compatible (deprecated), :: and ::1 among them
    ipaddress.ip_network("::ffff:0:0:0/96"),  # IPv4-translated (SIIT, RFC 2765)
    ipaddress.ip_network("64:ff9b:1::/48"),  # NAT64 local-use (RFC 8215): our own network's translator
    ipaddress.ip_network("2002::/16"),  # 6to4 (RFC 3056): bits 16-48 are an IPv4 address
    ipaddress.ip_network("2001::/32"),  # Teredo (RFC 4380): server and (inverted) client IPv4 addresses
    ipaddress.ip_network("3fff::/20"),  # documentation (RFC 9637), which Python 3.11 calls global
)


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address of the prefixes above carries, if it carries one."""
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]  # the client: where the packets end up
    if address.is_loopback or address.is_unspecified:
        return None
    if any(address in net for net in (*TRANSLATED, *TUNNELLED[:2])):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def public(address: Address) -> bool:
    """Whether ``address`` is on the public internet: an IPv4 address that is global and not multicast, or a
    global unicast IPv6 address that is no tunnel or translator to IPv4 (IPv4-mapped and NAT64 addresses
    are judged by the IPv4 address they reach)."""
    if isinstance(address, ipaddress.IPv4Address):
        return address.is_global and not address.is_multicast
    if any(address in net for net in TRANSLATED):
        return public(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    if any(address in net for net in TUNNELLED):
        return False
    return address in GLOBAL_UNICAST and address.is_global and not address.is_reserved


def refusal(host: str, address: Address) -> str:
    """Why ``host`` at ``address`` is not fetched, naming the IPv4 address an IPv6 one carries."""
    carried = embedded_ipv4(address) if isinstance(address, ipaddress.IPv6Address) else None
    within = f" (carrying the IPv4 address {carried})" if carried is not None else ""
    return f"the host {host} is at {address}{within}, an address inside the network"


@dataclass
class GuardedBackend(httpcore.SyncBackend):
    """Connects only to public addresses (or ``allow``): the host is resolved here and the checked address
    is the one connected to; TLS still verifies the host name."""

    allow: tuple[Network, ...] = ()
    resolver: Resolver = field(default=resolve)

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        """Resolve ``host``, refuse it unless every address is allowed, then connect to the first."""
        addresses = [ipaddress.ip_address(a.split("%", 1)[0]) for a in self.resolver(host, port)]
        if not addresses:
            raise FetchRefused(f"the host {host} does not resolve")
        for address in addresses:
            if not (public(address) or any(address in net for net in self.allow)):
                raise FetchRefused(refusal(host, address))
        return super().connect_tcp(str(addresses[0]), port, timeout, local_address, socket_options)


@dataclass(frozen=True)
class Fetcher:
    """Fetches photos from URLs under the rules above."""

    allow_http: bool = False
    timeout: float = 10.0
    max_bytes: int = 10 * 1024 * 1024
    max_redirects: int = 3
    max_pixels: int = 4096 * 4096  # STUDIO_UPLOAD_MAX_PIXELS
    allow: tuple[Network, ...] = ()
    resolver: Resolver = resolve
    ssl_context: ssl.SSLContext | None = None

    def check_url(self, url: str) -> None:
        """Refuse a URL that is not http(s) as allowed, has credentials or no host."""
        parts = urlsplit(url)
        schemes = ("https", "http") if self.allow_http else ("https",)
        if parts.scheme not in schemes:
            raise FetchRefused(f"must be an {' or '.join(schemes)} URL, not {parts.scheme or 'a relative one'}")
        if not parts.hostname:
            raise FetchRefused("the URL has no host")
        if parts.username or parts.password:
            raise FetchRefused("the URL must not carry a user name or password")

    def fetch(self, url: str) -> Photo:
        """The photo at ``url`` (following at most ``max_redirects`` redirects), or ``FetchRefused``."""
        deadline = time.monotonic() + self.timeout
        backend = GuardedBackend(allow=self.allow, resolver=self.resolver)
        with httpcore.ConnectionPool(network_backend=backend, ssl_context=self.ssl_context, retries=0) as pool:
            for _ in range(self.max_redirects + 1):
                self.check_url(url)
                answer = self._get(pool, url, deadline)
                if isinstance(answer, Photo):
                    return answer
                url = urljoin(url, answer)
        raise FetchRefused(f"more than {self.max_redirects} redirects")

    def _get(self, pool: httpcore.ConnectionPool, url: str, deadline: float) -> str | Photo:
        """The photo at ``url``, or where it redirects to."""
        left = deadline - time.monotonic()
        if left <= 0:
            raise FetchRefused(f"no answer within {self.timeout:g} s")
        timeouts = {"connect": left, "read": left, "write": left, "pool": left}
        try:
            with pool.stream("GET", url, headers={"Accept": "image/*", "User-Agent": "studio-ledger"},
                             extensions={"timeout": timeouts}) as response:
                if response.status in (301, 302, 303, 307, 308):
                    location = dict((k.lower(), v) for k, v in response.headers).get(b"location")
                    if not location:
                        raise FetchRefused(f"the server answered {response.status} without a Location")
                    return location.decode("latin-1")
                if response.status != 200:
                    raise FetchRefused(f"the server answered {response.status}, not the image")
                body = self._read(response, deadline)
        except httpcore.TimeoutException as error:
            raise FetchRefused(f"no answer within {self.timeout:g} s") from error
        except (httpcore.NetworkError, httpcore.ProtocolError, httpcore.UnsupportedProtocol) as error:
            raise FetchRefused(f"cannot fetch it: {error or type(error).__name__}") from error
        return decode_photo(body, max_pixels=self.max_pixels)

    def _read(self, response: httpcore.Response, deadline: float) -> bytes:
        declared = dict((k.lower(), v) for k, v in response.headers).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise FetchRefused(f"the image is {int(declared):,} bytes, more than {self.max_bytes:,}")
        chunks, size = [], 0
        for chunk in response.iter_stream():
            size += len(chunk)
            if size > self.max_bytes:
                raise FetchRefused(f"the image is more than {self.max_bytes:,} bytes")
            if time.monotonic() > deadline:
                raise FetchRefused(f"no answer within {self.timeout:g} s")
            chunks.append(chunk)
        return b"".join(chunks)

