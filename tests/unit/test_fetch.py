"""Fetching a photo from a URL never reaches inside our network and accepts only a real, bounded image."""

from __future__ import annotations

import io
import ipaddress
import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from PIL import Image

from media.errors import InvalidInput
from media.fetch import Fetcher, FetchRefused, decode_photo, public
from media.image_stores.local import LocalStore
from media.inputs import InputPhotos

pytestmark = pytest.mark.unit
LOOPBACK = (ipaddress.ip_network("127.0.0.1/32"),)  # the test server's address, allowed only where said


def picture(kind: str = "PNG", size: tuple[int, int] = (40, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, "red").save(out, format=kind)
    return out.getvalue()


class Answers(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        path = self.path
        if path.startswith("/redirect-to/"):
            self.send_response(302)
            self.send_header("Location", path.removeprefix("/redirect-to/"))
            self.end_headers()
            return
        if path == "/slow":
            time.sleep(6)  # far past the deadline, so the refusal is the deadline's and not the answer's
        body = {"/photo.png": picture(), "/photo.gif": picture("GIF"), "/slow": picture(),
                "/page.png": b"<html>not a picture</html>", "/huge.png": b"\0" * 300_000}.get(path)
        if body is None:
            self.send_response(404)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        if path != "/huge.png":  # the huge one does not say how big it is
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        pass


class Quiet(ThreadingHTTPServer):
    def handle_error(self, *_: object) -> None:  # a client that stopped reading (the size cap) is expected
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = Quiet(("127.0.0.1", 0), Answers)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://images.test:{httpd.server_address[1]}"
    httpd.shutdown()


def resolver(table: dict[str, list[str]]) -> object:
    def resolve(host: str, port: int) -> list[str]:
        return table.get(host, [host])
    return resolve


def fetcher(**overrides: object) -> Fetcher:
    values: dict[str, object] = {"allow_http": True, "allow": LOOPBACK, "timeout": 5.0, "max_bytes": 100_000,
                                 "resolver": resolver({"images.test": ["127.0.0.1"],
                                                       "metadata.test": ["169.254.169.254"]}), **overrides}
    return Fetcher(**values)  # type: ignore[arg-type]


def test_a_real_image_is_fetched_and_decoded(server: str) -> None:
    photo = fetcher().fetch(f"{server}/photo.png")
    assert (photo.content_type, photo.width, photo.height) == ("image/png", 40, 30)


@pytest.mark.parametrize("url", ["http://cdn.example/me.png", "file:///etc/passwd", "ftp://cdn.example/me.png",
                                 "gopher://cdn.example/", "/media/gallery/x.png"])
def test_only_https_is_fetched_outside_the_embedded_default(url: str) -> None:
    with pytest.raises(FetchRefused, match="must be an https URL"):
        Fetcher().fetch(url)


def test_a_url_with_credentials_is_refused() -> None:
    with pytest.raises(FetchRefused, match="user name or password"):
        Fetcher().fetch("https://user:secret@cdn.example/me.png")


@pytest.mark.parametrize("address", ["127.0.0.1", "10.1.2.3", "172.16.0.5", "192.168.1.1", "169.254.169.254",
                                     "100.64.0.1", "0.0.0.0", "224.0.0.1", "::1", "fd00:ec2::254", "fe80::1",
                                     "::ffff:127.0.0.1", "::ffff:10.0.0.1"])
def test_a_host_that_resolves_inside_the_network_is_refused_before_connecting(address: str) -> None:
    guarded = Fetcher(resolver=resolver({"cdn.example": [address]}), timeout=2)  # type: ignore[arg-type]
    with pytest.raises(FetchRefused, match="an address inside the network"):
        guarded.fetch("https://cdn.example/me.png")


@pytest.mark.parametrize(("address", "carried"), [
    ("64:ff9b::7f00:1", "127.0.0.1"),  # NAT64 well-known prefix to loopback
    ("64:ff9b::a9fe:a9fe", "169.254.169.254"),  # ... to the metadata service
    ("64:ff9b:1::a00:1", None),  # NAT64 local-use: our own translator, whatever it carries
    ("2002:a9fe:a9fe::1", "169.254.169.254"),  # 6to4
    ("2002:808:808::1", "8.8.8.8"),  # 6to4 to a public address: still a tunnel out of our hands
    ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "192.0.2.45"),  # Teredo
    ("::7f00:1", "127.0.0.1"),  # IPv4-compatible
    ("::ffff:0:a00:1", "10.0.0.1"),  # IPv4-translated (SIIT)
    ("::ffff:169.254.169.254", "169.254.169.254"),  # IPv4-mapped
    ("fec0::1", None),  # site-local, which Python 3.11 calls global
    ("3fff::1", None),  # documentation
    ("2001:db8::1", None),  # documentation
    ("100::1", None),  # discard-only
])
def test_ipv6_addresses_that_embed_or_translate_ipv4_are_refused_naming_what_they_carry(address: str,
                                                                                         carried: str | None) -> None:
    guarded = Fetcher(resolver=resolver({"cdn.example": [address]}), timeout=2)  # type: ignore[arg-type]
    with pytest.raises(FetchRefused, match="an address inside the network") as refused:
        guarded.fetch("https://cdn.example/me.png")
    assert (f"carrying the IPv4 address {carried})" in str(refused.value)) if carried else "carrying" not in str(
        refused.value)


@pytest.mark.parametrize("address", ["2606:4700::6810:84e5", "64:ff9b::5db8:d822", "::ffff:93.184.216.34",
                                     "93.184.216.34"])
def test_public_addresses_are_judged_public_nat64_and_mapped_ones_by_the_ipv4_they_reach(address: str) -> None:
    assert public(ipaddress.ip_address(address))


def test_one_internal_address_among_public_ones_is_refused() -> None:
    guarded = Fetcher(resolver=resolver({"cdn.example": ["93.184.216.34", "10.0.0.7"]}))  # type: ignore[arg-type]
    with pytest.raises(FetchRefused, match=r"10\.0\.0\.7"):
        guarded.fetch("https://cdn.example/me.png")


def test_an_ip_literal_inside_the_network_is_refused() -> None:
    with pytest.raises(FetchRefused, match="inside the network"):
        Fetcher(allow_http=True).fetch("http://127.0.0.1:9/me.png")


def test_a_redirect_to_an_internal_address_is_refused(server: str) -> None:
    with pytest.raises(FetchRefused, match=r"169\.254\.169\.254"):
        fetcher().fetch(f"{server}/redirect-to/http://metadata.test/latest/meta-data/")


def test_a_redirect_to_plain_http_is_refused_where_only_https_is_allowed(server: str) -> None:
    with pytest.raises(FetchRefused, match="must be an https URL"):
        fetcher(allow_http=False).check_url(f"{server}/photo.png")
    with pytest.raises(FetchRefused, match="not ftp"):
        fetcher().fetch(f"{server}/redirect-to/ftp://images.test/photo.png")


def test_too_many_redirects_are_refused(server: str) -> None:
    chain = f"{server}/redirect-to/{server}/redirect-to/{server}/photo.png"
    assert fetcher(max_redirects=2).fetch(chain).width == 40
    with pytest.raises(FetchRefused, match="more than 1 redirects"):
        fetcher(max_redirects=1).fetch(chain)


def test_a_body_over_the_size_cap_is_refused_even_without_a_content_length(server: str) -> None:
    with pytest.raises(FetchRefused, match="more than 100,000 bytes"):
        fetcher().fetch(f"{server}/huge.png")


def test_a_slow_server_is_refused_at_the_deadline(server: str) -> None:
    started = time.monotonic()
    with pytest.raises(FetchRefused, match=r"no answer within 0\.5 s"):
        fetcher(timeout=0.5).fetch(f"{server}/slow")
    assert time.monotonic() - started < 3


def test_a_page_served_as_an_image_and_a_gif_are_refused_by_decoding(server: str) -> None:
    with pytest.raises(FetchRefused, match="not an image"):
        fetcher().fetch(f"{server}/page.png")
    with pytest.raises(FetchRefused, match="unsupported image type GIF"):
        fetcher().fetch(f"{server}/photo.gif")
    with pytest.raises(FetchRefused, match="answered 404"):
        fetcher().fetch(f"{server}/missing.png")


def test_a_truncated_or_oversized_image_is_refused() -> None:
    with pytest.raises(FetchRefused, match="not an image"):
        decode_photo(picture("JPEG", (200, 200))[:400], max_pixels=10**6)
    with pytest.raises(FetchRefused, match="more than 1,000,000"):
        decode_photo(picture("PNG", (1001, 1000)), max_pixels=10**6)
    with pytest.raises(FetchRefused, match="empty"):
        decode_photo(b"", max_pixels=10**6)


async def test_the_worker_refuses_an_internal_url_as_invalid_input_naming_the_field(tmp_path: Path) -> None:
    inside = Fetcher(resolver=resolver({"cdn.example": ["10.0.0.8"]}))  # type: ignore[arg-type]
    photos = InputPhotos(LocalStore(tmp_path), inside)
    with pytest.raises(InvalidInput, match=re.escape("input_image_url refused: the host cdn.example is at 10.0.0.8")):
        await photos.read("ana", "https://cdn.example/me.png")
    with pytest.raises(InvalidInput, match="gone"):
        await photos.read("ana", "upload:missing")
