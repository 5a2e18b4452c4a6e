"""A fake Microsoft Graph (mail) and a fake Microsoft identity platform on real loopback sockets, for the Graph source
and Graph sending.

The identity provider (https, with a certificate of its own CA, since msal accepts https authorities only) serves the
OpenID discovery document and the token endpoint, and grants the client-credentials flow to the one registered
client; its tokens are opaque, or whatever ``mint`` makes (JWTs a mail server validates itself). Graph (plain
http) serves, for each mailbox, with its bearer tokens checked on every request:

- ``GET /users/{id}/mailFolders/{folder}/messages/delta`` with ``changeType=created``: the first round lists the
  folder's messages, later rounds (``$deltatoken``) those that arrived since; pages of at most ``page_size`` (or
  the client's ``Prefer: odata.maxpagesize``), linked by ``@odata.nextLink`` (``$skiptoken``), the last one carrying
  ``@odata.deltaLink``; an unknown delta token answers 410;
- ``GET /users/{id}/mailFolders?$filter=displayName eq '...'`` and ``GET /users/{id}/mailFolders/{folder}``;
- ``GET /users/{id}/messages/{msg}/$value`` (the MIME), ``PATCH /users/{id}/messages/{msg}`` (``isRead``),
  ``POST .../move`` (``destinationId``; the id is kept with ``Prefer: IdType="ImmutableId"``, else a new one),
  ``DELETE /users/{id}/messages/{msg}``;
- ``POST /users/{id}/sendMail`` with ``Content-Type: text/plain`` and base64 MIME: 202, or 400
  ``ErrorMimeContentInvalidBase64String``.

Faults are injected per request pattern: ``throttle`` answers 429 (or 503) with ``Retry-After``, ``fail`` answers
any status. Tokens can be revoked (the next request gets 401 ``InvalidAuthenticationToken``).
"""

from __future__ import annotations

import base64
import binascii
import datetime
import fnmatch
import ipaddress
import json
import re
import secrets
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

TENANT = "contoso-test-tenant"
MAILBOX = "support@contoso.test"  # the mailbox the ``microsoft`` fixture makes
CLIENT_ID, CLIENT_SECRET = "11111111-2222-3333-4444-555555555555", "s3cr3t~value"


def _certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (it is its own CA): (certificate file, key file)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fake identity provider")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "idp.crt", directory / "idp.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_file, key_file


class _Handler(BaseHTTPRequestHandler):
    server: Any
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, body: bytes = b"", content_type: str = "application/json", **headers: str) -> None:
        self.send_response(status)
        if body or status not in (202, 204):
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        if body:
            self.wfile.write(body)

    def _json(self, status: int, value: Any, **headers: str) -> None:
        self._send(status, json.dumps(value).encode(), **headers)

    def _handle(self, method: str) -> None:
        body = self._body()
        self.server.app.handle(self, method, body)

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def do_DELETE(self) -> None:
        self._handle("DELETE")


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, app: Any, context: ssl.SSLContext | None = None) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.app = app
        if context is not None:
            self.socket = context.wrap_socket(self.socket, server_side=True)
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


class FakeIdentity:
    """The token side: ``issuer`` (an https URL whose discovery document msal reads) and ``ca_file`` to trust it."""

    def __init__(self, directory: Path, client_id: str, client_secret: str) -> None:
        self.client_id, self.client_secret = client_id, client_secret
        self.lock = threading.Lock()
        self.issued: list[str] = []  # every access token granted, in order
        self.revoked: set[str] = set()
        self.token_requests = 0
        self.token_forms: list[dict[str, str]] = []  # each token request's grant_type, client_id, client_secret, scope
        self.mint: Callable[[], str] | None = None  # makes the access tokens (e.g. JWTs a mail server checks)
        self.expires_in = 3600
        cert_file, key_file = _certificate(directory)
        self.ca_file = str(cert_file)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_file, key_file)
        self._server = _Server(self, context)
        self.issuer = f"https://127.0.0.1:{self._server.port}/{TENANT}"

    def stop(self) -> None:
        self._server.stop()

    def valid(self, token: str) -> bool:
        with self.lock:
            return token in self.issued and token not in self.revoked

    def revoke_all(self) -> None:
        with self.lock:
            self.revoked.update(self.issued)

    def handle(self, request: _Handler, method: str, body: bytes) -> None:
        path = urlsplit(request.path).path
        if method == "GET" and path == f"/{TENANT}/.well-known/openid-configuration":
            request._json(
                200,
                {
                    "issuer": self.issuer,
                    "token_endpoint": f"{self.issuer}/oauth2/v2.0/token",
                    "authorization_endpoint": f"{self.issuer}/oauth2/v2.0/authorize",
                    "jwks_uri": f"{self.issuer}/discovery/v2.0/keys",
                    "response_types_supported": ["code"],
                    "subject_types_supported": ["public"],
                    "id_token_signing_alg_values_supported": ["RS256"],
                },
            )
            return
        if method == "POST" and path == f"/{TENANT}/oauth2/v2.0/token":
            form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
            client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
            auth = request.headers.get("Authorization", "")
            if auth.startswith("Basic "):
                client_id, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
            with self.lock:
                self.token_requests += 1
                self.token_forms.append(
                    {
                        "grant_type": form.get("grant_type", ""),
                        "client_id": client_id,
                        "client_secret": secret,
                        "scope": form.get("scope", ""),
                    }
                )
            if form.get("grant_type") != "client_credentials":
                request._json(400, {"error": "unsupported_grant_type", "error_description": "client credentials only"})
                return
            if (client_id, secret) != (self.client_id, self.client_secret):
                request._json(401, {"error": "invalid_client", "error_description": "AADSTS7000215: Invalid secret."})
                return
            token = self.mint() if self.mint is not None else "at-" + secrets.token_urlsafe(16)
            with self.lock:
                self.issued.append(token)
            request._json(200, {"token_type": "Bearer", "expires_in": self.expires_in, "access_token": token})
            return
        request._json(404, {"error": "not_found"})


@dataclass
class GraphMessage:
    id: str
    raw: bytes
    folder: str
    seq: int  # when it arrived in its folder
    is_read: bool = False
    received: str = ""


@dataclass
class Fault:
    pattern: str  # "METHOD path-glob"
    count: int
    status: int
    retry_after: str | None = None
    seen: int = 0


@dataclass
class SentMail:
    mailbox: str
    raw: bytes
    content_type: str


@dataclass
class FakeGraph:
    """Graph's mail API for mailboxes made with ``add_mailbox``; tokens come from ``identity``."""

    identity: FakeIdentity
    page_size: int = 10
    lock: threading.Lock = field(default_factory=threading.Lock)
    folders: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)  # mailbox -> id -> info
    messages: dict[str, dict[str, GraphMessage]] = field(default_factory=dict)  # mailbox -> id -> message
    rounds: dict[str, int] = field(default_factory=dict)  # delta token -> the sequence number it stands at
    faults: list[Fault] = field(default_factory=list)
    sent: list[SentMail] = field(default_factory=list)
    log: list[tuple[str, str, int]] = field(default_factory=list)  # method, path, status
    seq: int = 0

    def __post_init__(self) -> None:
        self._server = _Server(self)
        self.url = f"http://127.0.0.1:{self._server.port}/v1.0"

    def stop(self) -> None:
        self._server.stop()

    # -- the test's side ---------------------------------------------------------------------------------------

    def add_mailbox(self, mailbox: str, *folders: str) -> None:
        with self.lock:
            self.folders[mailbox] = {}
            self.messages[mailbox] = {}
            for name in ("Inbox", "Archive", "Deleted Items", *folders):
                folder_id = "AQMk" + secrets.token_hex(12)
                well_known = name.lower().replace(" ", "") if name in ("Inbox", "Archive", "Deleted Items") else ""
                self.folders[mailbox][folder_id] = {"id": folder_id, "displayName": name, "wellKnown": well_known}

    def folder(self, mailbox: str, name: str) -> str:
        """The id of the folder with this display name or well-known name."""
        for folder_id, info in self.folders[mailbox].items():
            if name in (info["displayName"], info["wellKnown"]):
                return folder_id
        raise KeyError(name)

    def deliver(self, mailbox: str, *raws: bytes, folder: str = "inbox", read: bool = False) -> list[str]:
        ids = []
        with self.lock:
            for raw in raws:
                self.seq += 1
                message_id = "AAMkAD" + secrets.token_urlsafe(24)
                stamp = datetime.datetime(2025, 7, 1, tzinfo=datetime.UTC) + datetime.timedelta(seconds=self.seq)
                self.messages[mailbox][message_id] = GraphMessage(
                    message_id, raw, self.folder(mailbox, folder), self.seq, read, stamp.isoformat()
                )
                ids.append(message_id)
        return ids

    def in_folder(self, mailbox: str, folder: str = "inbox") -> list[GraphMessage]:
        folder_id = self.folder(mailbox, folder)
        with self.lock:
            return sorted((m for m in self.messages[mailbox].values() if m.folder == folder_id), key=lambda m: m.seq)

    def throttle(self, pattern: str, count: int = 1, retry_after: str | None = "1", status: int = 429) -> Fault:
        fault = Fault(pattern, count, status, retry_after)
        with self.lock:
            self.faults.append(fault)
        return fault

    def fail(self, pattern: str, count: int = 1, status: int = 500) -> Fault:
        return self.throttle(pattern, count, None, status)

    def requests(self, pattern: str) -> list[tuple[str, str, int]]:
        with self.lock:
            return [entry for entry in self.log if fnmatch.fnmatchcase(f"{entry[0]} {entry[1]}", pattern)]

    # -- the server's side -------------------------------------------------------------------------------------

    def handle(self, request: _Handler, method: str, body: bytes) -> None:
        parts = urlsplit(request.path)
        path = unquote(parts.path)
        status = self._dispatch(request, method, path, parts.query, body)
        with self.lock:
            self.log.append((method, path, status))

    def _fault(self, method: str, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.seen < fault.count and fnmatch.fnmatchcase(f"{method} {path}", fault.pattern):
                    fault.seen += 1
                    return fault
        return None

    def _error(self, request: _Handler, status: int, code: str, message: str, **headers: str) -> int:
        request._json(status, {"error": {"code": code, "message": message}}, **headers)
        return status

    def _dispatch(self, request: _Handler, method: str, path: str, query: str, body: bytes) -> int:
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or not self.identity.valid(auth[7:]):
            return self._error(
                request, 401, "InvalidAuthenticationToken", "Access token is empty or invalid.",
                WWW_Authenticate='Bearer realm=""',
            )  # fmt: skip
        fault = self._fault(method, path)
        if fault is not None:
            headers = {"Retry_After": fault.retry_after} if fault.retry_after is not None else {}
            code = "TooManyRequests" if fault.status == 429 else "ServiceFault"
            return self._error(request, fault.status, code, "injected by the test", **headers)
        match = re.fullmatch(r"/v1\.0/users/([^/]+)(/.*)?", path)
        if not match or match.group(1) not in self.folders:
            return self._error(request, 404, "ErrorInvalidUser", "The requested user is invalid.")
        mailbox, rest = match.group(1), match.group(2) or ""
        params = {k: v[0] for k, v in parse_qs(query).items()}
        immutable = 'IdType="ImmutableId"' in request.headers.get("Prefer", "")
        if method == "POST" and rest == "/sendMail":
            return self._send_mail(request, mailbox, body)
        if method == "GET" and rest == "/mailFolders":
            wanted = re.fullmatch(r"displayName eq '(.*)'", params.get("$filter", ""))
            found = [
                {"id": i, "displayName": f["displayName"]}
                for i, f in self.folders[mailbox].items()
                if wanted and f["displayName"] == wanted.group(1).replace("''", "'")
            ]
            request._json(200, {"value": found})
            return 200
        if method == "GET" and rest.startswith("/mailFolders/inbox/childFolders"):
            request._json(200, {"value": []})
            return 200
        folder_match = re.fullmatch(r"/mailFolders/([^/]+)(/messages/delta)?", rest)
        if method == "GET" and folder_match:
            folder_id = self._folder_id(mailbox, folder_match.group(1))
            if folder_id is None:
                return self._error(request, 404, "ErrorItemNotFound", "The specified folder could not be found.")
            if folder_match.group(2):
                return self._delta(request, mailbox, folder_id, folder_match.group(1), params)
            inside = [m for m in self.messages[mailbox].values() if m.folder == folder_id]
            info = self.folders[mailbox][folder_id]
            request._json(
                200,
                {
                    "id": folder_id,
                    "displayName": info["displayName"],
                    "totalItemCount": len(inside),
                    "unreadItemCount": sum(not m.is_read for m in inside),
                },
            )
            return 200
        message_match = re.fullmatch(r"/messages/([^/]+)(/\$value|/move)?", rest)
        if message_match:
            message_id, action = message_match.group(1), message_match.group(2)
            return self._message(request, method, mailbox, message_id, action, body, immutable)
        return self._error(request, 400, "BadRequest", f"unsupported: {method} {rest}")

    def _folder_id(self, mailbox: str, name: str) -> str | None:
        for folder_id, info in self.folders[mailbox].items():
            if name in (folder_id, info["wellKnown"]):
                return folder_id
        return None

    def _delta(self, request: _Handler, mailbox: str, folder_id: str, folder: str, params: dict[str, str]) -> int:
        prefer = request.headers.get("Prefer", "")
        wanted = re.search(r"odata\.maxpagesize=(\d+)", prefer)
        size = min(int(wanted.group(1)), self.page_size) if wanted else self.page_size
        with self.lock:
            if "$skiptoken" in params:
                state = base64.urlsafe_b64decode(params["$skiptoken"]).decode()
                since, upto, offset = (int(x) for x in state.split("."))
            elif "$deltatoken" in params:
                if params["$deltatoken"] not in self.rounds:
                    return self._error(request, 410, "SyncStateNotFound", "The sync state was not found.")
                since, upto, offset = self.rounds[params["$deltatoken"]], self.seq, 0
            else:
                if params.get("changeType") != "created":
                    return self._error(request, 400, "BadRequest", "this fake serves changeType=created only")
                since, upto, offset = 0, self.seq, 0
            arrived = sorted(
                (m for m in self.messages[mailbox].values() if m.folder == folder_id and since < m.seq <= upto),
                key=lambda m: m.seq,
            )
            page = arrived[offset : offset + size]
            base = f"{self.url}/users/{quote(mailbox, safe='@')}/mailFolders/{quote(folder, safe='')}/messages/delta"
            value = [
                {
                    "@odata.type": "#microsoft.graph.message",
                    "@odata.etag": f'W/"{m.seq}"',
                    "id": m.id,
                    "isRead": m.is_read,
                    "receivedDateTime": m.received,
                }
                for m in page
            ]
            answer: dict[str, Any] = {"@odata.context": f"{self.url}/$metadata#Collection(message)", "value": value}
            if offset + size < len(arrived):
                token = base64.urlsafe_b64encode(f"{since}.{upto}.{offset + size}".encode()).decode()
                answer["@odata.nextLink"] = f"{base}?$skiptoken={token}"
            else:
                token = secrets.token_urlsafe(12)
                self.rounds[token] = upto
                answer["@odata.deltaLink"] = f"{base}?$deltatoken={token}"
        request._json(200, answer)
        return 200

    def _message(
        self,
        request: _Handler,
        method: str,
        mailbox: str,
        message_id: str,
        action: str | None,
        body: bytes,
        immutable: bool,
    ) -> int:
        with self.lock:
            message = self.messages[mailbox].get(message_id)
        if message is None:
            return self._error(request, 404, "ErrorItemNotFound", "The specified object was not found in the store.")
        if method == "GET" and action == "/$value":
            request._send(200, message.raw, content_type="text/plain")
            return 200
        if method == "PATCH" and action is None:
            changes = json.loads(body or b"{}")
            with self.lock:
                if "isRead" in changes:
                    message.is_read = bool(changes["isRead"])
            request._json(200, {"id": message.id, "isRead": message.is_read})
            return 200
        if method == "POST" and action == "/move":
            target = self._folder_id(mailbox, json.loads(body or b"{}").get("destinationId", ""))
            if target is None:
                return self._error(request, 404, "ErrorItemNotFound", "The destination folder could not be found.")
            with self.lock:
                del self.messages[mailbox][message.id]
                self.seq += 1
                message.folder, message.seq = target, self.seq
                if not immutable:
                    message.id = "AAMkAD" + secrets.token_urlsafe(24)
                self.messages[mailbox][message.id] = message
            request._json(201, {"id": message.id, "parentFolderId": target})
            return 201
        if method == "DELETE" and action is None:
            with self.lock:
                del self.messages[mailbox][message.id]
            request._send(204)
            return 204
        return self._error(request, 405, "MethodNotAllowed", f"{method} {action or ''}")

    def _send_mail(self, request: _Handler, mailbox: str, body: bytes) -> int:
        content_type = request.headers.get("Content-Type", "")
        if not content_type.startswith("text/plain"):
            return self._error(request, 400, "BadRequest", "this fake takes MIME (text/plain, base64) only")
        try:
            raw = base64.b64decode(body, validate=False)
            if not raw or b":" not in raw.split(b"\n", 1)[0]:
                raise ValueError("no header line")
        except (binascii.Error, ValueError):
            code, text = "ErrorMimeContentInvalidBase64String", "Invalid base64 string for MIME content."
            return self._error(request, 400, code, text)
        with self.lock:
            self.sent.append(SentMail(mailbox, raw, content_type))
        request._send(202)
        return 202


@contextmanager
def fake_microsoft(directory: Path, client_id: str, client_secret: str) -> Iterator[tuple[FakeIdentity, FakeGraph]]:
    identity = FakeIdentity(directory, client_id, client_secret)
    graph = FakeGraph(identity, page_size=3)
    try:
        yield identity, graph
    finally:
        graph.stop()
        identity.stop()
