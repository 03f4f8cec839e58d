"""A Web Push service (RFC 8030) on localhost, behaving like the browsers' ones for what
Coprod relies on: it checks the VAPID authorisation (RFC 8292), answers 201 for a
live subscription and 410 for one the browser dropped, and lets a test read each
notification as the browser would, by decrypting it (RFC 8291) with the keys a
subscription made here holds."""
from __future__ import annotations

import base64
import json
import os
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator
from urllib.parse import urlparse

import http_ece
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Browser:
    """A browser's side of one subscription: the keys it decrypts with."""

    name: str
    private_key: ec.EllipticCurvePrivateKey
    auth: bytes
    endpoint: str

    def subscription(self) -> dict[str, Any]:
        public = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {"endpoint": self.endpoint, "keys": {"p256dh": b64url(public), "auth": b64url(self.auth)}}


@dataclass
class Push:
    browser: str
    payload: dict[str, Any]
    vapid_key: str
    ttl: str


@dataclass
class FakePushService:
    gone: set[str] = field(default_factory=set)
    received: list[Push] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    browsers: dict[str, Browser] = field(default_factory=dict)

    def __post_init__(self) -> None:
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (the http.server API)
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                status = service.take(self.path, dict(self.headers), body)
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> "FakePushService":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def browser(self, name: str) -> Browser:
        made = Browser(name, ec.generate_private_key(ec.SECP256R1()), os.urandom(16), f"{self.url}/push/{name}")
        self.browsers[name] = made
        return made

    def to(self, name: str) -> Iterator[dict[str, Any]]:
        return (push.payload for push in self.received if push.browser == name)

    def take(self, path: str, headers: dict[str, str], body: bytes) -> int:
        name = path.rsplit("/", 1)[-1]
        browser = self.browsers.get(name)
        if browser is None or name in self.gone:
            return 410
        lowered = {key.lower(): value for key, value in headers.items()}
        key = self._authorised(lowered.get("authorization", ""))
        if key is None or lowered.get("content-encoding") != "aes128gcm" or "ttl" not in lowered:
            self.refused.append(name)
            return 401
        clear = http_ece.decrypt(body, private_key=browser.private_key, auth_secret=browser.auth, version="aes128gcm")
        self.received.append(Push(name, json.loads(clear), key, lowered["ttl"]))
        return 201

    def _authorised(self, header: str) -> str | None:
        """`vapid t=<JWT>, k=<public key>`: an ES256 token for this service's origin, not expired."""
        if not header.startswith("vapid "):
            return None
        parts = dict(part.strip().split("=", 1) for part in header[len("vapid "):].split(","))
        token, key = parts.get("t", ""), parts.get("k", "")
        try:
            head, claims, signature = token.split(".")
            public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(key))
            raw = unb64url(signature)
            der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
            public.verify(der, f"{head}.{claims}".encode(), ec.ECDSA(hashes.SHA256()))
            audience = json.loads(unb64url(claims))["aud"]
        except Exception:
            return None
        origin = urlparse(self.url)
        return key if audience == f"{origin.scheme}://{origin.netloc}" else None
