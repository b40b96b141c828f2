"""Hostile image links and files are refused before they cost anything (midway/fetch.py), against a real
HTTP server on this machine."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from PIL import Image

from midway.fetch import FetchError, FetchPolicy, decode_image, fetch_bytes, is_public


def png(size: tuple[int, int] = (8, 8), mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, 1 if mode == "1" else (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


class Server:
    """Routes path -> (status, headers, body); counts the requests it was sent."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, dict[str, str], bytes]] = {}
        self.hits: list[str] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.hits.append(self.path)
                status, headers, body = owner.routes.get(self.path, (404, {}, b""))
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.allowed = FetchPolicy(frozenset({f"127.0.0.1:{self.port}"}), max_bytes=1024 * 1024)


@pytest.fixture
def server() -> Iterator[Server]:
    running = Server()
    thread = threading.Thread(target=running.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield running
    running.httpd.shutdown()
    running.httpd.server_close()


def test_an_allowed_host_serves_its_image(server: Server) -> None:
    server.routes["/fox.png"] = (200, {"Content-Type": "image/png"}, png())
    assert decode_image(fetch_bytes(f"{server.url}/fox.png", server.allowed)).size == (8, 8)


@pytest.mark.parametrize("url", ["http://127.0.0.1:{port}/fox.png", "http://localhost:{port}/fox.png",
                                 "http://[::1]:{port}/fox.png", "http://10.0.0.7/x.png", "http://169.254.169.254/",
                                 "http://0.0.0.0:{port}/fox.png", "http://192.168.1.1/a.png"])
def test_local_and_private_addresses_are_refused_before_connecting(server: Server, url: str) -> None:
    server.routes["/fox.png"] = (200, {}, png())
    with pytest.raises(FetchError, match="private or local address"):
        fetch_bytes(url.format(port=server.port))
    assert server.hits == []


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/a.png", "gopher://x/", "/etc/hosts"])
def test_other_schemes_are_refused(url: str) -> None:
    with pytest.raises(FetchError, match="Only http"):
        fetch_bytes(url)


@pytest.mark.parametrize("target", ["http://169.254.169.254/latest/meta-data/", "http://127.0.0.1:6379/",
                                    "file:///etc/passwd"])
def test_a_redirect_to_a_private_address_is_refused_before_following_it(server: Server, target: str) -> None:
    server.routes["/jump"] = (302, {"Location": target}, b"")
    with pytest.raises(FetchError, match="private or local|Only http"):
        fetch_bytes(f"{server.url}/jump", server.allowed)
    assert server.hits == ["/jump"]


def test_redirects_are_bounded(server: Server) -> None:
    server.routes["/loop"] = (302, {"Location": "/loop"}, b"")
    with pytest.raises(FetchError, match="redirects more than"):
        fetch_bytes(f"{server.url}/loop", server.allowed)


def test_an_oversize_body_is_refused(server: Server) -> None:
    server.routes["/big"] = (200, {}, b"\0" * (1024 * 1024 + 10))
    with pytest.raises(FetchError, match="larger than 1 MB"):
        fetch_bytes(f"{server.url}/big", server.allowed)


def test_non_images_truncated_files_and_bombs_are_refused() -> None:
    with pytest.raises(FetchError, match="not an image"):
        decode_image(b"<html>hello</html>")
    with pytest.raises(FetchError, match="not an image"):
        decode_image(png((64, 64))[:60])
    # 9k x 9k of one colour: a few KB of (1-bit) PNG that would decode into 243 MB of RGB.
    with pytest.raises(FetchError, match="too many pixels, over 64 M"):
        decode_image(png((9_000, 9_000), mode="1"))
    # Past Pillow's own guard (89 M pixels) the answer is the same.
    with pytest.raises(FetchError, match="too many pixels"):
        decode_image(png((12_000, 12_000), mode="1"))


def test_public_addresses_are_public() -> None:
    assert is_public("93.184.216.34") and is_public("2606:2800:220:1::1")
    assert not any(is_public(address) for address in ("::ffff:127.0.0.1", "fd00::1", "100.64.0.1", "224.0.0.1"))
