"""Image links for the tests that give one: a real HTTP server on 127.0.0.1 whose paths serve what a test
put there (an image, a web page, a file cut short, a decompression bomb), recording every path asked for,
and the hostile files themselves.

A link to 127.0.0.1 is refused as a private address unless the operator allows its host and port
(MIDWAY_FETCH_ALLOW_HOSTS, midway/fetch.py), as `midway up` allows the playground's: `allow` is that entry.
"""

from __future__ import annotations

import io
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from PIL import Image


def png(size: tuple[int, int] = (96, 64), colour: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


def png_bomb(side: int = 9000) -> bytes:
    """A real PNG of a blank side x side greyscale image: ~80 KB of file, 81 M pixels once decoded."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")

    # Each row: filter byte 0, then black pixels. Compressed in blocks of rows: one call per row costs ~2 s.
    compressor, rows = zlib.compressobj(9), bytes(side + 1) * 500
    blocks = [rows] * (side // 500) + [bytes(side + 1) * (side % 500)]
    pixels = b"".join(compressor.compress(block) for block in blocks) + compressor.flush()
    header = side.to_bytes(4, "big") * 2 + bytes([8, 0, 0, 0, 0])
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def hostile_files() -> dict[str, tuple[bytes, str]]:
    """path -> (body, the reason the worker gives for it): what only a download shows."""
    unreadable = "That is not an image we can read (or the file is damaged or cut short)."
    return {"/page.png": (b"<html>not an image</html>", unreadable),
            "/cut.png": (png()[:60], unreadable),
            "/bomb.png": (png_bomb(), "The image is 9000x9000: too many pixels, over 64 M pixels.")}


class ImageLinks:
    """path -> body, served as image/png (a liar's content type, for the pages and the cut-short files)."""

    def __init__(self) -> None:
        self.routes: dict[str, bytes] = {}
        self.hits: list[str] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.hits.append(self.path)
                body = owner.routes.get(self.path)
                self.send_response(404 if body is None else 200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.allow = f"127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@contextmanager
def serving() -> Iterator[ImageLinks]:
    links = ImageLinks()
    thread = threading.Thread(target=links.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield links
    finally:
        links.httpd.shutdown()
        links.httpd.server_close()
        thread.join()
