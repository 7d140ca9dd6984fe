"""Turning one RFC 822 message (any charset, any structure) into what the desk needs.

Nothing here touches the database: `parse_email(raw)` returns a `ParsedEmail` or raises
`MalformedEmail` with a one-line reason.
"""
from __future__ import annotations

import base64
import codecs
import hashlib
import re
from dataclasses import dataclass, field
from email import message_from_bytes
from email.header import Header, decode_header, make_header
from email.message import Message
from email.utils import getaddresses, parseaddr

from bs4 import BeautifulSoup

from portal.core.security import storable

MAX_HEADER_BYTES = 64 * 1024


class MalformedEmail(ValueError):
    """The message cannot be understood; the text is a one-line reason for the quarantine list."""


@dataclass
class Attachment:
    filename: str
    content_type: str
    data: bytes
    content_id: str | None = None
    inline: bool = False


@dataclass
class ParsedEmail:
    message_id: str
    sender: str
    sender_name: str
    recipients: list[str]
    subject: str
    text: str  # the new part of the message: quotes and signature removed
    full_text: str  # the whole body as text
    in_reply_to: list[str] = field(default_factory=list)  # In-Reply-To then References, newest first
    attachments: list[Attachment] = field(default_factory=list)
    auto_reason: str | None = None  # why this is an automatic message (never a ticket), if it is
    bounced_message_ids: list[str] = field(default_factory=list)  # for delivery reports
    language: str | None = None

    def __post_init__(self) -> None:
        # Decoded text may hold what no database keeps (a NUL from a broken mail merge, a body
        # decoded in the wrong charset): it is cleaned here, once, for every path to the desk.
        for name in ("sender", "sender_name", "subject", "text", "full_text"):
            setattr(self, name, storable(getattr(self, name)))
        self.message_id = storable(self.message_id, 500)
        for name in ("recipients", "in_reply_to", "bounced_message_ids"):
            setattr(self, name, [storable(value, 500) for value in getattr(self, name)])
        for attachment in self.attachments:
            attachment.filename = storable(attachment.filename, 255)


def message_id_of(raw: bytes) -> str:
    """The Message-ID, or a digest of the bytes when there is none (idempotency still holds)."""
    head = raw[:MAX_HEADER_BYTES].split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    match = re.search(rb"^message-id:[ \t]*(.*(?:\r?\n[ \t].*)*)", head, re.IGNORECASE | re.MULTILINE)
    if match:
        value = match.group(1).decode("ascii", "replace").strip()
        ids = _ids(value)
        if ids:
            return ids[0]
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def _ids(value: str | None) -> list[str]:
    return re.findall(r"<([^<>\s]+)>", value or "") or ([value.strip()] if value and value.strip() and " " not in value.strip() else [])


def decode_words(value: str) -> str:
    """RFC 2047 encoded words to text; a word in a charset nobody knows is read as UTF-8 (else
    Windows-1252), so the other words of the header still come out decoded."""
    value = re.sub(r"\r?\n[ \t]+", " ", value or "")
    if "=?" not in value:
        return value.strip()
    try:
        return str(make_header([(data, charset) if charset is None or _decodes(data, charset) else (_charset_text(data, None).encode("utf-8"), "utf-8")
                                for data, charset in decode_header(value)])).strip()
    except (LookupError, UnicodeDecodeError, ValueError, AssertionError):
        return value.strip()


def _decodes(data: bytes | str, charset: str) -> bool:
    """Whether `data` reads in `charset` (a charset Python does not know reads nothing)."""
    if isinstance(data, str):
        return True
    try:
        data.decode(charset)
    except (LookupError, UnicodeDecodeError):
        return False
    return True


def _raw_header(msg: Message, name: str) -> str:
    value = msg.get(name)
    if value is None:
        return ""
    if isinstance(value, Header):
        # Raw 8-bit bytes in a header (RFC 6532's UTF-8, or an old client's Latin-1): the parser
        # keeps them undecoded; read them as UTF-8, else Windows-1252, not as replacement marks.
        value = "".join(data if isinstance(data, str) else _charset_text(data, None if charset in (None, "unknown-8bit") else charset)
                        for data, charset in decode_header(value))
    return re.sub(r"\r?\n[ \t]+", " ", str(value)).strip()


def _header(msg: Message, name: str) -> str:
    # The compat32 parser is used because it is several times faster than the default policy;
    # encoded words (RFC 2047) are decoded here, RFC 2231 parameters by get_filename().
    return decode_words(_raw_header(msg, name))


def _charset_text(data: bytes, charset: str | None) -> str:
    for candidate in (charset, "utf-8", "windows-1252"):
        if not candidate:
            continue
        try:
            return data.decode(candidate)
        except (LookupError, UnicodeDecodeError):
            continue
    return data.decode("latin-1")


def _payload(part: Message) -> bytes:
    """The part's bytes, its transfer encoding undone. Base64 that the email package cannot decode
    as a whole (stray characters where a broken mailer cut it) is decoded as far as it goes, not
    handed over as letters; a body that only says it is base64 ("Hello, ...") is kept as written."""
    data = part.get_payload(decode=True) or b""
    raw = part.get_payload()
    if str(part.get("Content-Transfer-Encoding", "")).strip().lower() != "base64" or not isinstance(raw, str):
        return data
    if data != raw.strip().encode("ascii", "surrogateescape").replace(b"\r", b"").replace(b"\n", b""):
        return data  # decoded (the email package mends missing padding itself)
    tokens = raw.split()
    if not tokens or not BASE64_RUN.match(tokens[0]):
        return data  # words, not base64
    letters = ""
    for token in tokens:
        run = BASE64_LETTERS.match(token).group(0)
        letters += run
        if run != token:  # padding, or where the encoding breaks off
            break
    letters = letters[: len(letters) - (len(letters) % 4 == 1)]
    return base64.b64decode(letters + "=" * (-len(letters) % 4))


BASE64_RUN = re.compile(r"[A-Za-z0-9+/]{16}")  # a base64 line starts so; a line of words does not
BASE64_LETTERS = re.compile(r"[A-Za-z0-9+/]*")


def _part_text(part: Message) -> str:
    data = _payload(part)
    charset = part.get_content_charset()
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):  # a Windows export, whatever the label says
        return data.decode("utf-16", "replace")
    if data.startswith(codecs.BOM_UTF8):
        return data[3:].decode("utf-8", "replace")
    # Mail that says iso-8859-1 (or us-ascii) is very often windows-1252 (curly quotes, the euro
    # sign), or UTF-8 from a program that never set the charset: bytes that read as UTF-8 are UTF-8.
    if charset in ("iso-8859-1", "latin-1", "us-ascii", "ascii", "windows-1252"):
        charset = "utf-8" if not data.isascii() and _decodes(data, "utf-8") else "windows-1252"
    return _charset_text(data, charset)


BLOCKS = ("p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol", "pre", "hr")


def html_to_text(html: str) -> str:
    """Readable plain text from HTML: no markup, no scripts, no quoted history."""
    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(["script", "style", "head", "title", "template"]):
        tag.decompose()
    for tag in soup.select("blockquote, .gmail_quote, #divRplyFwdMsg, #appendonsend, .moz-cite-prefix"):
        if tag.decomposed:
            continue
        first = next((line for line in tag.get_text("\n").splitlines() if line.strip()), "")
        if FORWARD_MARKER.match(first):  # Gmail wraps a forward as it wraps a quote: a forward is kept
            continue
        tag.decompose()
    for tag in soup.find_all(BLOCKS):
        tag.insert_before("\n")
        tag.insert_after("\n")
    for img in soup.find_all("img"):
        img.replace_with(f"[{img.get('alt') or 'image'}]" if img.get("alt") else "")
    text = soup.get_text()
    text = re.sub(r"[ \t\u00a0]+", " ", text)
    text = re.sub(r" *\n *", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


# Where the new text ends: the reply header of a quote, a signature, a phone's footer.
QUOTE_HEADERS = [
    re.compile(r"^On\b.{0,200}\bwrote:\s*$", re.IGNORECASE | re.DOTALL),
    re.compile(r"^Le\b.{0,200}\ba écrit\s*:\s*$", re.IGNORECASE | re.DOTALL),
    re.compile(r"^-{2,}\s*(Original Message|Message d'origine)\s*-{2,}", re.IGNORECASE),
    re.compile(r"^_{10,}\s*$"),
    re.compile(r"^(From|De)\s*:\s.+", re.IGNORECASE),
]
SIGNATURE_STARTS = [
    re.compile(r"^-- ?$"),
    re.compile(r"^(Sent from my|Envoyé de mon|Envoyé depuis mon|Get Outlook for)\b", re.IGNORECASE),
]


# A forwarded message is what the sender asks about, not history: it is kept whole.
FORWARD_MARKER = re.compile(r"^\s*-{2,}\s*(Forwarded message|Message transféré|Mensaje reenviado|Mensagem encaminhada)\s*-{2,}",
                            re.IGNORECASE | re.MULTILINE)
FORWARD_SUBJECT = re.compile(r"^\s*(fwd?|tr|rv|enc)\s*:", re.IGNORECASE)


def strip_quotes_and_signature(text: str) -> str:
    """The new part of a reply: stop at the quote header or signature, drop `>` lines. A message
    forwarded inline is kept whole after the sender's own words (their signature dropped)."""
    lines = text.replace("\r\n", "\n").split("\n")
    marker = None
    for i, line in enumerate(lines):
        stripped = line.strip()
        if FORWARD_MARKER.match(stripped):
            marker = i
            break
        if stripped.startswith(">") or (i and any(p.match(stripped) for p in QUOTE_HEADERS)):
            break  # quoted history comes first: a forward inside it is history too
    if marker is not None:
        own = _strip("\n".join(lines[:marker])) if any(line.strip() for line in lines[:marker]) else ""
        return "\n\n".join(part for part in (own, "\n".join(lines[marker:]).strip()) if part)
    return _strip(text)


def _strip(text: str) -> str:
    lines = text.replace("\r\n", "\n").split("\n")
    kept: list[str] = []
    for index, line in enumerate(lines):
        stripped = line.strip()
        two = f"{stripped} {lines[index + 1].strip()}" if index + 1 < len(lines) else stripped
        if any(p.match(stripped) or p.match(two) for p in QUOTE_HEADERS) and kept:
            break
        if any(p.match(line.rstrip("\n")) or p.match(stripped) for p in SIGNATURE_STARTS):
            break
        if stripped.startswith(">"):
            continue
        kept.append(line)
    result = "\n".join(kept).strip()
    return result or text.strip()


AUTO_SUBJECTS = re.compile(
    r"^(auto(matic)?[ -]?reply|auto:|out of (the )?office|réponse automatique|absence|delivery status notification|undeliver|mail delivery failed|returned mail)",
    re.IGNORECASE,
)


def auto_reason(msg: Message, sender: str, subject: str | None = None) -> str | None:
    """Why this message was sent by a machine (and must never open a ticket or get an answer).
    `subject`: the decoded Subject, when the caller has it already."""
    auto = _header(msg, "Auto-Submitted").lower()
    if auto and auto != "no":
        return f"Auto-Submitted: {auto}"
    precedence = _header(msg, "Precedence").lower()
    if precedence in ("bulk", "junk", "list", "auto_reply"):
        return f"Precedence: {precedence}"
    for name in ("X-Autoreply", "X-Autorespond", "X-Auto-Reply"):
        if _header(msg, name):
            return name
    if msg.get_content_type() == "multipart/report":
        return "delivery report"
    local = sender.split("@")[0].lower()
    if local in ("mailer-daemon", "postmaster"):
        return "sent by a mail system"
    if AUTO_SUBJECTS.match(subject if subject is not None else _header(msg, "Subject")):
        return "automatic subject"
    return None


def _bounced_ids(msg: Message) -> list[str]:
    ids: list[str] = []
    for part in msg.walk():
        ctype = part.get_content_type()
        if ctype in ("message/rfc822", "text/rfc822-headers", "message/rfc822-headers"):
            payload = part.get_payload()
            if isinstance(payload, list) and payload:
                ids += _ids(_raw_header(payload[0], "Message-ID"))
            else:
                text = payload if isinstance(payload, str) else _part_text(part)
                match = re.search(r"^message-id:\s*(.+)$", text, re.IGNORECASE | re.MULTILINE)
                if match:
                    ids += _ids(match.group(1))
    return ids


# A signature of the whole message (S/MIME, PGP): nothing in it for a person to read.
SIGNATURE_TYPES = frozenset({"application/pkcs7-signature", "application/x-pkcs7-signature", "application/pgp-signature"})


def _forwarded(msg: Message) -> tuple[list[str], list[Attachment]]:
    """Messages attached whole (message/rfc822: "forward as attachment"): each one's text under a
    line naming its sender and subject, and its own files."""
    texts: list[str] = []
    files: list[Attachment] = []
    for part in _parts(msg, inner=True):
        payload = part.get_payload()
        inner = payload[0] if isinstance(payload, list) and payload else None
        if not isinstance(inner, Message):
            continue
        plain, html, attachments = _collect(inner)
        body = plain.strip() or (html_to_text(html) if html else "")
        head = "\n".join(f"{name}: {_header(inner, name)}" for name in ("From", "Date", "Subject") if _header(inner, name))
        texts.append("\n".join(["---------- Forwarded message ----------", head, "", body]).strip())
        files += attachments
        deeper, deeper_files = _forwarded(inner)  # a forward of a forward
        texts += deeper
        files += deeper_files
    return texts, files


def _parts(msg: Message, inner: bool = False):
    """The leaf parts of `msg` (`inner`: its attached messages instead), not looking inside an
    attached message: that one is read on its own (`_forwarded`)."""
    if msg.get_content_type() == "message/rfc822":
        if inner:
            yield msg
        return
    if msg.is_multipart():
        for part in msg.get_payload():
            if isinstance(part, Message):
                yield from _parts(part, inner)
    elif not inner:
        yield msg


def _collect(msg: Message) -> tuple[str, str, list[Attachment]]:
    plain: list[str] = []
    html: list[str] = []
    calendar: list[str] = []
    attachments: list[Attachment] = []
    for part in _parts(msg):
        ctype = part.get_content_type()
        if ctype in SIGNATURE_TYPES:
            continue
        disposition = part.get_content_disposition()
        filename = part.get_filename()
        content_id = _raw_header(part, "Content-ID").strip("<>") or None
        filename = decode_words(filename) if filename else filename
        if disposition == "attachment" or filename or (ctype.split("/")[0] in ("image", "audio", "video", "application") and ctype != "application/ics"):
            data = _payload(part)
            name = filename or (content_id or "attachment")
            attachments.append(Attachment(name, ctype, data, content_id, inline=disposition == "inline" or bool(content_id and disposition != "attachment")))
        elif ctype == "text/plain":
            plain.append(_part_text(part))
        elif ctype == "text/html":
            html.append(_part_text(part))
        elif ctype == "text/calendar":
            calendar.append(calendar_text(_part_text(part)))
    # An invitation sent alone: its own words (what, where, when) are the text.
    return "\n\n".join(plain or calendar), "\n\n".join(html), attachments


CALENDAR_FIELDS = ("SUMMARY", "DESCRIPTION", "LOCATION", "DTSTART")


def calendar_text(ics: str) -> str:
    """The readable lines of an iCalendar invitation: what, description, where and when."""
    unfolded = re.sub(r"\r?\n[ \t]", "", ics)
    lines = []
    for line in unfolded.splitlines():
        name, _colon, value = line.partition(":")
        if name.split(";")[0].upper() in CALENDAR_FIELDS and value.strip():
            lines.append(value.replace("\\n", "\n").replace("\\,", ",").replace("\\;", ";").strip())
    return "\n".join(lines)


def parse_email(raw: bytes) -> ParsedEmail:
    """Parse one message; raise MalformedEmail when it cannot become a request."""
    if not raw or not raw.strip():
        raise MalformedEmail("empty message")
    head = raw[:MAX_HEADER_BYTES].lstrip()
    if not re.match(rb"^[!-9;-~]+:", head):
        raise MalformedEmail("the message does not start with headers")
    try:
        msg = message_from_bytes(raw)
        name, sender = parseaddr(_raw_header(msg, "From"))
        name = decode_words(name)
    except Exception as exc:  # the email package raises many kinds on broken input
        raise MalformedEmail(f"unreadable headers: {exc}".splitlines()[0][:300]) from None
    sender = sender.strip().lower()
    subject = _header(msg, "Subject")
    reason = auto_reason(msg, sender, subject)
    if not reason and (not sender or "@" not in sender):
        raise MalformedEmail("no valid sender address (From)")
    try:
        plain, html, attachments = _collect(msg)
        forwarded, forwarded_files = _forwarded(msg)
    except Exception as exc:
        raise MalformedEmail(f"unreadable body: {exc}".splitlines()[0][:300]) from None
    own = plain.strip() or (html_to_text(html) if html else "")
    full = "\n\n".join(part for part in (own, *forwarded) if part)
    attachments += forwarded_files
    if not reason and not full.strip() and not attachments and not subject:
        raise MalformedEmail("no readable text, no subject and no attachment")
    # A forward ("Fwd:", "TR:") is about the forwarded message: nothing of it is cut as a quote.
    text = own.replace("\r\n", "\n") if FORWARD_SUBJECT.match(subject) else strip_quotes_and_signature(own) if own else ""
    text = "\n\n".join(part for part in (text, *forwarded) if part)
    references = list(reversed(_ids(_raw_header(msg, "References"))))
    in_reply_to = _ids(_raw_header(msg, "In-Reply-To"))
    recipients = [addr.lower() for _, addr in getaddresses([_raw_header(msg, "To"), _raw_header(msg, "Cc"), _raw_header(msg, "Delivered-To")]) if addr]
    language = (_header(msg, "Content-Language").split(",")[0].strip() or None)
    return ParsedEmail(
        message_id=message_id_of(raw),
        sender=sender,
        sender_name=name.strip(),
        recipients=recipients,
        subject=subject,
        text=text,
        full_text=full,
        in_reply_to=in_reply_to + [r for r in references if r not in in_reply_to],
        attachments=attachments,
        auto_reason=reason,
        bounced_message_ids=_bounced_ids(msg) if reason else [],
        language=language,
    )
