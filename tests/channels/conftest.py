"""Channel fixtures: secrets in the environment, a real SMTP server, a real IMAP server (pymap) and a fake
Graph/Telegram API, all on loopback."""
from __future__ import annotations

import hashlib
import hmac
import imaplib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from portal.core.db import db, tenant_scope
from portal.tenancy.services import get_tenant

FIXTURES = Path(__file__).parent / "fixtures"
APP_SECRET = "test-app-secret"
VERIFY_TOKEN = "test-verify-token"
ACCESS_TOKEN = "test-access-token"
TELEGRAM_SECRET = "test-telegram-secret"
BOT_TOKEN = "123:test-bot"


def _port_range() -> range:
    """This worker's slice of the ports the servers of these tests may use: CHANNELS_TEST_PORTS
    ("first-last", default 8400-8499) shared evenly between the xdist workers, so parallel runs
    never collide and each engineer on a shared machine can keep to their own range."""
    first, _, last = os.environ.get("CHANNELS_TEST_PORTS", "8400-8499").partition("-")
    ports = range(int(first), int(last or first) + 1)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    index = int(worker[2:]) if worker.startswith("gw") and worker[2:].isdigit() else 0
    workers = max(int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")), 1)
    size = max(len(ports) // workers, 1)
    start = ports.start + (index * size) % len(ports)
    return range(start, min(start + size, ports.stop))


def free_port() -> int:
    for port in _port_range():
        with socket.socket() as s:
            # As the servers do: a port whose last connection is still closing (TIME_WAIT) is free.
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in this worker's slice {_port_range()} of CHANNELS_TEST_PORTS")


def app_answering_from_the_demo_kb(make_app):
    """An app whose assistant answers from the knowledge base, loaded with the demo library and
    Farajaland's articles (the real ticket desk behind it)."""
    from portal.kb import importer

    repo = Path(__file__).resolve().parents[2]
    app = make_app(ASSISTANT_SOURCE="kb", ASSISTANT_VERSION_TTL=0)
    with app.app_context():
        assert not importer.import_folder(repo / "library/kb").problems
        tenant = get_tenant("farajaland")
        with tenant_scope(db.session, tenant.id):
            assert not importer.import_folder(repo / "tenants/farajaland/kb", tenant).problems
        db.session.commit()
    return app


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@pytest.fixture
def channel_secrets(monkeypatch):
    for prefix in ("FARAJALAND", "KALONDO"):
        monkeypatch.setenv(f"{prefix}_WHATSAPP_APP_SECRET", APP_SECRET)
        monkeypatch.setenv(f"{prefix}_WHATSAPP_VERIFY_TOKEN", VERIFY_TOKEN)
        monkeypatch.setenv(f"{prefix}_WHATSAPP_ACCESS_TOKEN", ACCESS_TOKEN)
    monkeypatch.setenv("FARAJALAND_TELEGRAM_SECRET", TELEGRAM_SECRET)
    monkeypatch.setenv("FARAJALAND_TELEGRAM_BOT_TOKEN", BOT_TOKEN)


@pytest.fixture
def configure_channel(app):
    """Change one channel's settings of a tenant, as if tenant.toml said so."""

    def configure(channel: str, slug: str = "farajaland", **values):
        with app.app_context():
            tenant = get_tenant(slug)
            config = json.loads(json.dumps(tenant.config))
            config["channels"][channel].update(values)
            tenant.config = config
            db.session.commit()

    return configure


class RecordingHandler:
    def __init__(self):
        self.messages = []
        self.refuse = False

    async def handle_DATA(self, server, session, envelope):
        if self.refuse:
            return "451 4.3.0 try again later"
        self.messages.append(envelope)
        return "250 OK"


@pytest.fixture
def smtp_sink(configure_channel):
    """A real SMTP server on loopback that keeps what it receives; the tenant sends through it."""
    from aiosmtpd.controller import Controller

    handler = RecordingHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    configure_channel("email", smtp_host="127.0.0.1", smtp_port=port)
    yield handler
    controller.stop()


class FakeApi:
    """What the fake Graph API / Telegram Bot API received, and how it should answer next."""

    def __init__(self):
        self.requests: list[dict] = []
        self.fail_with: list[int] = []  # HTTP statuses to answer with, one per request, before succeeding
        self.sent = 0
        self.lock = threading.Lock()


def _handler(api: FakeApi):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _answer(self, status: int, body, content_type="application/json"):
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            api.requests.append({"method": "GET", "path": self.path, "headers": dict(self.headers)})
            if self.path.startswith("/media-content/"):
                return self._answer(200, b"\xff\xd8\xff\xe0fake-jpeg", "image/jpeg")
            if "/getFile" in self.path:
                return self._answer(200, {"ok": True, "result": {"file_path": "documents/file_1.pdf"}})
            if "/file/bot" in self.path:
                return self._answer(200, b"%PDF-telegram", "application/pdf")
            media_id = self.path.strip("/")
            return self._answer(200, {"url": f"http://127.0.0.1:{self.server.server_port}/media-content/{media_id}", "mime_type": "image/jpeg", "id": media_id})

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            with api.lock:
                api.requests.append({"method": "POST", "path": self.path, "headers": dict(self.headers), "json": body})
                if api.fail_with:
                    status = api.fail_with.pop(0)
                    return self._answer(status, {"error": {"message": "fake failure", "code": status}})
                api.sent += 1
                number = api.sent
            if "/sendMessage" in self.path:
                return self._answer(200, {"ok": True, "result": {"message_id": 500 + number}})
            return self._answer(200, {"messaging_product": "whatsapp", "messages": [{"id": f"wamid.out.{number}"}]})

    return Handler


@pytest.fixture
def fake_api(configure_channel, channel_secrets):
    """A fake Graph API and Telegram Bot API on loopback; Farajaland points at it."""
    api = FakeApi()
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), _handler(api))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    configure_channel("whatsapp", graph_base=base)
    configure_channel("telegram", api_base=base)
    api.base = base
    yield api
    server.shutdown()
    server.server_close()


def sign(body: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def whatsapp_body(*messages, statuses=(), phone_number_id="100200300400500", name="Amina Banda") -> bytes:
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "260975550100", "phone_number_id": phone_number_id},
        "contacts": [{"profile": {"name": name}, "wa_id": "260971234567"}],
    }
    if messages:
        value["messages"] = list(messages)
    if statuses:
        value["statuses"] = list(statuses)
    return json.dumps({"object": "whatsapp_business_account", "entry": [{"id": "WABA1", "changes": [{"field": "messages", "value": value}]}]}).encode()


def wa_text(text: str, wamid: str = "wamid.in.1", sender: str = "260971234567") -> dict:
    return {"from": sender, "id": wamid, "timestamp": "1790000000", "type": "text", "text": {"body": text}}


class FakeDesk:
    """Stands in for `portal.tickets.services` (same contract) until the ticket desk is on this branch."""

    def __init__(self):
        self.tickets: dict[int, dict] = {}
        self.contacts: dict[str, object] = {}
        self.messages: list[dict] = []

    def find_or_create_contact(self, tenant, *, email=None, phone=None, name="", user=None, locale=None, whatsapp_id=None, telegram_id=None, flush=True):
        key = email or whatsapp_id or telegram_id or phone
        contact = self.contacts.setdefault(key, type("Contact", (), {"id": len(self.contacts) + 1, "name": name, "email": email})())
        return contact

    def refused_file(self, filename, data):
        return None  # keeps every file: what the real desk refuses is tested with the real desk

    def open_ticket(self, tenant, actor, *, requester, subject, body, channel="web", attachments=(), locale=None, before_commit=None, **_):
        number = len(self.tickets) + 42
        ticket = type("Ticket", (), {"id": number, "reference": f"FAR-{number:06d}", "status": "open", "subject": subject, "contact": requester})()
        self.tickets[number] = {"ticket": ticket, "subject": subject, "body": body, "channel": channel, "attachments": list(attachments), "requester": requester}
        if before_commit is not None:
            before_commit(ticket, type("Message", (), {"id": 900 + number})())
        db.session.commit()
        return ticket

    def add_message(self, tenant, actor, ticket, *, body, public=True, channel=None, author_contact=None, attachments=(), in_reply_to=None, before_commit=None):
        message = type("Message", (), {"id": 1000 + len(self.messages)})()
        self.messages.append({"ticket": ticket.id, "body": body, "channel": channel, "attachments": list(attachments)})
        if before_commit is not None:
            before_commit(ticket, message)
        db.session.commit()
        return message

    def get_ticket_by_reference(self, tenant, reference):
        return next((t["ticket"] for t in self.tickets.values() if t["ticket"].reference == reference), None)


@pytest.fixture
def fake_desk(monkeypatch):
    from portal.channels import routing

    desk = FakeDesk()
    monkeypatch.setattr(routing, "_tickets", lambda: desk)
    monkeypatch.setattr(routing, "_ticket_by_id", lambda ticket_id: desk.tickets.get(ticket_id, {}).get("ticket"))
    monkeypatch.setattr(routing, "_service", lambda module: None)  # no assistant either
    return desk


IMAP_USER = "imap-user"
IMAP_PASSWORD = "imap-pass"


@pytest.fixture(scope="session")
def imap_server(tmp_path_factory):
    """A real IMAP server on loopback: pymap with its in-memory backend, one per test worker."""
    port = free_port()
    log_path = tmp_path_factory.mktemp("imap") / "pymap.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-c", "from pymap.main import main; main()", "--host", "127.0.0.1", "--port", str(port), "--no-tls",
             "dict", "--demo-user", IMAP_USER, "--demo-password", IMAP_PASSWORD],
            stdout=log, stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 60
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                process.wait()
                raise RuntimeError(f"the IMAP test server did not start: {log_path.read_text()[-500:]}") from None
            time.sleep(0.05)
    yield port
    process.terminate()
    try:
        process.wait(5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class ImapBox:
    """The test's side of the mailbox: deliver messages, and see what the poller left."""

    def __init__(self, port: int):
        self.port = port

    def connect(self) -> imaplib.IMAP4:
        imap = imaplib.IMAP4("127.0.0.1", self.port, timeout=30)  # pymap is slow on a loaded machine; the poller waits as long
        imap.login(IMAP_USER, IMAP_PASSWORD)
        return imap

    def deliver(self, raw: bytes, folder: str = "INBOX", seen: bool = False) -> None:
        with self.connect() as imap:
            assert imap.append(f'"{folder}"', "(\\Seen)" if seen else None, None, raw)[0] == "OK"

    def create(self, folder: str) -> None:
        with self.connect() as imap:
            assert imap.create(f'"{folder}"')[0] == "OK"

    def messages(self, folder: str = "INBOX") -> list[tuple[bytes, bool]]:
        """(Message-ID header line, seen) of each message in `folder`, oldest first."""
        with self.connect() as imap:
            imap.select(f'"{folder}"', readonly=True)
            _, data = imap.uid("FETCH", "1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
            found = []
            for part in data:
                if isinstance(part, tuple):
                    found.append((part[1].strip(), b"\\Seen" in part[0]))
            return found

    def empty(self) -> None:
        with self.connect() as imap:
            _, folders = imap.list()
            for line in folders or []:
                name = line.decode().rsplit(' "/" ', 1)[-1].strip('"')
                if name != "INBOX":
                    imap.delete(f'"{name}"')
            imap.select('"INBOX"')
            imap.store("1:*", "+FLAGS", "(\\Deleted)")
            imap.expunge()


@pytest.fixture
def imap_box(imap_server, configure_channel, monkeypatch):
    """An empty box on the IMAP server, which Farajaland polls (plain IMAP on loopback)."""
    box = ImapBox(imap_server)
    box.empty()
    monkeypatch.setenv("FARA_IMAP_USER", IMAP_USER)
    monkeypatch.setenv("FARA_IMAP_PASS", IMAP_PASSWORD)
    configure_channel("email", imap_host="127.0.0.1", imap_port=imap_server, imap_ssl=False, imap_username_env="FARA_IMAP_USER", imap_password_env="FARA_IMAP_PASS")
    return box
