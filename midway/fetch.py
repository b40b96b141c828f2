"""Fetching a user's image by URL without letting the URL reach inside our network (pure stdlib + Pillow).

An image prompt, a /describe link or an attachment URL is text a stranger typed; fetched naively it can
read a cloud metadata service (169.254.169.254), the Redis on localhost or an admin page on the LAN
(server-side request forgery). So, before connecting: only http(s), the host resolved once and every
address checked (no loopback, private, link-local, multicast, reserved or unspecified ones) unless the
operator allowed that host, and the connection made to the checked address itself (no second DNS answer
in between). Redirects are followed by hand, each hop checked the same way. What comes back is capped in
bytes, and decoded under a pixel cap (a decompression bomb: a small file of a huge, blank image).
"""

from __future__ import annotations

import http.client
import io
import ipaddress
import socket
import ssl
import urllib.parse
import warnings
from dataclasses import dataclass, field

from PIL import Image

MAX_DOWNLOAD_BYTES = 25 * 1024 * 1024
# Pillow warns above 89 M pixels and refuses at twice that; we refuse at 64 M (8k x 8k) before decoding.
MAX_IMAGE_PIXELS = 64 * 1024 * 1024
TIMEOUT_S = 20.0
MAX_REDIRECTS = 3


class FetchError(ValueError):
    """Why an image could not be fetched or read; the message is for the user and names no internals."""


@dataclass(frozen=True)
class FetchPolicy:
    # "host" or "host:port" the operator trusts although it resolves to a private address (the local
    # Discord emulator in the playground, a LAN CDN); empty in production against Discord.
    allowed_hosts: frozenset[str] = field(default_factory=frozenset)
    max_bytes: int = MAX_DOWNLOAD_BYTES
    timeout_s: float = TIMEOUT_S

    def allows(self, host: str, port: int) -> bool:
        return host.lower() in self.allowed_hosts or f"{host.lower()}:{port}" in self.allowed_hosts


def policy_from_text(text: str) -> FetchPolicy:
    """`MIDWAY_FETCH_ALLOW_HOSTS`: comma-separated `host` or `host:port` entries."""
    return FetchPolicy(frozenset(part.strip().lower() for part in text.split(",") if part.strip()))


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    # is_global is False for loopback, private, link-local, shared (100.64/10), reserved and unspecified.
    return ip.is_global and not ip.is_multicast


def checked_address(url: str, policy: FetchPolicy) -> tuple[urllib.parse.SplitResult, str]:
    """The URL's parts and the one address to connect to; FetchError for anything we will not fetch."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FetchError(f"Only http:// and https:// image links can be fetched, not {url[:80]!r}.")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        answers = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise FetchError(f"The host of {url[:80]!r} does not resolve.") from None
    addresses = [str(answer[4][0]) for answer in answers]
    if not policy.allows(parts.hostname, port) and not all(is_public(address) for address in addresses):
        raise FetchError(f"{parts.hostname} is a private or local address; only public image links are fetched.")
    return parts, addresses[0]


class _PinnedHTTPS(http.client.HTTPSConnection):
    """HTTPS to an address already checked, with the certificate checked against the URL's host name."""

    def __init__(self, host: str, address: str, port: int, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        raw = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(raw, server_hostname=self.host)  # type: ignore[attr-defined]


def _connection(parts: urllib.parse.SplitResult, address: str, timeout: float) -> http.client.HTTPConnection:
    port = parts.port or (443 if parts.scheme == "https" else 80)
    if parts.scheme == "https":
        return _PinnedHTTPS(parts.hostname or "", address, port, timeout)
    return http.client.HTTPConnection(address, port, timeout=timeout)


def fetch_bytes(url: str, policy: FetchPolicy | None = None) -> bytes:
    """The body at `url`, following at most MAX_REDIRECTS redirects, each hop checked before connecting."""
    policy = policy or FetchPolicy()
    for _ in range(MAX_REDIRECTS + 1):
        parts, address = checked_address(url, policy)
        connection = _connection(parts, address, policy.timeout_s)
        path = urllib.parse.urlunsplit(("", "", parts.path or "/", parts.query, ""))
        try:
            connection.request("GET", path, headers={"Host": parts.netloc.rpartition("@")[2],
                                                     "User-Agent": "midway-fetch"})
            response = connection.getresponse()
            if response.status in (301, 302, 303, 307, 308):
                url = urllib.parse.urljoin(url, response.getheader("Location") or "")
                continue
            if response.status != 200:
                raise FetchError(f"The image link answered HTTP {response.status}.")
            declared = response.getheader("Content-Length")
            if declared and declared.isdigit() and int(declared) > policy.max_bytes:
                raise FetchError(f"The image is larger than {policy.max_bytes // (1024 * 1024)} MB.")
            data = response.read(policy.max_bytes + 1)
        except (OSError, http.client.HTTPException) as error:
            raise FetchError(f"Could not download the image ({type(error).__name__}).") from None
        finally:
            connection.close()
        if len(data) > policy.max_bytes:
            raise FetchError(f"The image is larger than {policy.max_bytes // (1024 * 1024)} MB.")
        return data
    raise FetchError(f"The image link redirects more than {MAX_REDIRECTS} times.")


def decode_image(data: bytes, max_pixels: int = MAX_IMAGE_PIXELS) -> Image.Image:
    """Bytes -> an RGB image; FetchError for a non-image, a truncated file or a decompression bomb."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            # The header is read; the size is known before a single pixel is decoded.
            if image.width * image.height > max_pixels:
                raise FetchError(f"The image is {image.width}x{image.height}: too many pixels, over "
                                 f"{max_pixels // 2**20} M pixels.")
            image.load()
    except FetchError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        # Pillow's own guard fired while reading the header (above its 89 M pixels): ours is lower anyway.
        raise FetchError(f"The image has too many pixels: over {max_pixels // 2**20} M pixels.") from None
    except (OSError, SyntaxError, ValueError):
        raise FetchError("That is not an image we can read (or the file is damaged or cut short).") from None
    return image.convert("RGB")
