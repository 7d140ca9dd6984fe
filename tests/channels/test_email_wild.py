"""Mail as real users send it, beyond the fixtures: Outlook's winmail.dat, forwarded messages,
calendar invites, S/MIME signatures, inline images, encoded file names, wrong or unknown charsets,
8-bit headers, empty bodies, broken transfer encodings, endless lines.

Each message goes through the real ingest path (`flask channels email-ingest`, as an MTA pipes it),
to the fake desk (as tests/channels/test_email_in.py) and to the real ticket desk. Whatever comes:
no exception, the message is stored, and either a ticket with a readable body results or the
message is quarantined with a reason (only where a person must look at it); its text is not lost:
it reaches the ticket, or travels with it as an attachment.
"""
from __future__ import annotations

import base64
import time
from dataclasses import dataclass, field

import pytest
from sqlalchemy import select

from portal.channels.models import InboundMessage, InboundStatus
from portal.core.db import db, tenant_scope
from portal.tenancy.services import get_tenant

PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==")
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + bytes(range(256)) + b"\xff\xd9"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
TNEF = b"\x78\x9f\x3e\x22\x00\x00\x01\x06\x90\x08\x00\x04\x00\x00\x00\x00\x00\x01\x00\x01\x00\x01\x07\x90\x06\x00\x08\x00\x00\x00" + b"\xe4\x04" * 40
PKCS7_SIGNATURE = b"\x30\x82\x06\x1f\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x02\xa0\x82\x06\x10\x30\x82\x06\x0c\x02\x01\x01" + bytes(range(200))


def b64(data: bytes) -> bytes:
    return base64.encodebytes(data)


def mail(body: bytes, *, subject: bytes | None = b"Birth registration problem", content_type: bytes = b"text/plain; charset=utf-8",
         extra: bytes = b"", message_id: bytes = b"", sender: bytes = b"Amina Banda <amina.banda@health.farajaland.example>") -> bytes:
    """One message as it arrives from an MTA: headers, a blank line, the body (bytes, as given)."""
    head = b"From: " + sender + b"\nTo: support@farajaland.example\n"
    if subject is not None:
        head += b"Subject: " + subject + b"\n"
    head += b"Date: Mon, 6 Jan 2025 09:15:00 +0200\nMessage-ID: <" + (message_id or b"wild-%d@health.farajaland.example" % id(body)) + b">\n"
    head += b"MIME-Version: 1.0\nContent-Type: " + content_type + b"\n" + extra
    return head + b"\n" + body


@dataclass
class Case:
    raw: bytes
    text: list[str]  # must each reach the ticket (its body, or the content of an attachment)
    attachments: list[str] = field(default_factory=list)  # file names the ticket must carry
    subject: str | None = None  # the ticket's subject, when it must be exactly this
    subject_has: list[str] = field(default_factory=list)  # words the ticket's subject must show decoded
    may_quarantine: bool = False  # a person must look at it: a quarantine with a reason is a right answer


# Decoded as declared, the text is full of NUL characters (and base64 keeps the raw message free of them).
UTF16_AS_UTF8 = mail(b64("\ufeffThe export of the register fails at line 12.\n".encode("utf-16-le")), subject=None,
                     extra=b"Content-Transfer-Encoding: base64\n", message_id=b"utf16-as-utf8@health.farajaland.example")

FORWARDED_INNER = (
    b"From: District Registrar <registrar@ibombo.farajaland.example>\nTo: amina.banda@health.farajaland.example\n"
    b"Subject: Record 2024-IB-00731 rejected\nDate: Fri, 3 Jan 2025 16:02:00 +0200\nMessage-ID: <inner-1@ibombo.farajaland.example>\n"
)

CASES = {
    # Outlook's rich text as a TNEF winmail.dat next to the plain text.
    "winmail-dat-tnef": Case(mail(
        b"--b1\nContent-Type: text/plain; charset=utf-8\n\nThe certificate of Chanda Mwale prints blank; the form is in the attachment.\n"
        b"--b1\nContent-Type: application/ms-tnef; name=\"winmail.dat\"\nContent-Transfer-Encoding: base64\n"
        b"Content-Disposition: attachment; filename=\"winmail.dat\"\n\n" + b64(TNEF) + b"--b1--\n",
        content_type=b'multipart/mixed; boundary="b1"'),
        text=["The certificate of Chanda Mwale prints blank"]),
    # Only the TNEF part (Outlook sending "rich text" to an unknown recipient): nothing to read but the file.
    "winmail-dat-only": Case(mail(
        b"--b1\nContent-Type: application/ms-tnef; name=\"winmail.dat\"\nContent-Transfer-Encoding: base64\n\n" + b64(TNEF) + b"--b1--\n",
        content_type=b'multipart/mixed; boundary="b1"'),
        text=[], may_quarantine=True),
    # "Forward as attachment": the forwarded mail is a message/rfc822 part.
    "forward-as-attachment": Case(mail(
        b"--f1\nContent-Type: text/plain; charset=utf-8\n\nPlease see the message from the district office below.\n"
        b"--f1\nContent-Type: message/rfc822; name=\"Record rejected.eml\"\nContent-Disposition: attachment; filename=\"Record rejected.eml\"\n\n"
        + FORWARDED_INNER + b"Content-Type: text/plain; charset=utf-8\n\nThe record 2024-IB-00731 was rejected: the informant's ID number is missing.\n"
        b"--f1--\n", content_type=b'multipart/mixed; boundary="f1"'),
        text=["Please see the message from the district office", "the informant's ID number is missing"]),
    # The same, the forwarded mail written in HTML only (as most mail clients write it).
    "forward-as-attachment-html": Case(mail(
        b"--f1\nContent-Type: text/plain; charset=utf-8\n\nPlease see the message from the district office below.\n"
        b"--f1\nContent-Type: message/rfc822\nContent-Disposition: attachment\n\n"
        + FORWARDED_INNER + b"Content-Type: text/html; charset=utf-8\n\n<html><body><p>The record 2024-IB-00731 was <b>rejected</b>: "
        b"the informant's ID number is missing.</p></body></html>\n--f1--\n", content_type=b'multipart/mixed; boundary="f1"'),
        text=["Please see the message from the district office", "the informant's ID number is missing"]),
    # The same, the sender's signature above the forwarded part.
    "forward-as-attachment-after-signature": Case(mail(
        b"--f1\nContent-Type: text/plain; charset=utf-8\n\nPlease see the message from the district office below.\n\n-- \nAmina Banda\nRegistration agent\n"
        b"--f1\nContent-Type: message/rfc822\nContent-Disposition: attachment\n\n"
        + FORWARDED_INNER + b"Content-Type: text/plain; charset=utf-8\n\nThe record 2024-IB-00731 was rejected: the informant's ID number is missing.\n"
        b"--f1--\n", content_type=b'multipart/mixed; boundary="f1"'),
        text=["Please see the message from the district office", "the informant's ID number is missing"]),
    # Gmail's inline forward: the request is the forwarded text.
    "forward-inline": Case(mail(
        b"FYI, can you help with this?\n\n---------- Forwarded message ---------\nFrom: District Registrar <registrar@ibombo.farajaland.example>\n"
        b"Date: Fri, 3 Jan 2025 at 16:02\nSubject: Record 2024-IB-00731 rejected\nTo: <amina.banda@health.farajaland.example>\n\n"
        b"The record 2024-IB-00731 was rejected: the informant's ID number is missing.\n", subject=b"Fwd: Record 2024-IB-00731 rejected"),
        text=["FYI, can you help with this?", "the informant's ID number is missing"]),
    # An Outlook meeting request: text, HTML and the invitation itself.
    "calendar-invite": Case(mail(
        b"--c1\nContent-Type: text/plain; charset=utf-8\n\nTraining on the new death declaration form, Ibombo office.\n"
        b"--c1\nContent-Type: text/html; charset=utf-8\n\n<p>Training on the new death declaration form, Ibombo office.</p>\n"
        b"--c1\nContent-Type: text/calendar; charset=utf-8; method=REQUEST\nContent-Transfer-Encoding: 7bit\n\n"
        b"BEGIN:VCALENDAR\nMETHOD:REQUEST\nBEGIN:VEVENT\nUID:evt-1@health.farajaland.example\nDTSTART:20250110T080000Z\n"
        b"DTEND:20250110T100000Z\nSUMMARY:Death declaration training\nLOCATION:Ibombo office\nEND:VEVENT\nEND:VCALENDAR\n--c1--\n",
        subject=b"Invitation: Death declaration training @ Fri 10 Jan 2025", content_type=b'multipart/alternative; boundary="c1"'),
        text=["Training on the new death declaration form"]),
    # Some calendars send the invitation alone: the event's own words are all there is to read.
    "calendar-invite-only": Case(mail(
        b"BEGIN:VCALENDAR\nMETHOD:REQUEST\nBEGIN:VEVENT\nUID:evt-2@health.farajaland.example\nDTSTART:20250110T080000Z\n"
        b"SUMMARY:Death declaration training\nDESCRIPTION:Bring the tablets that fail to sync.\nEND:VEVENT\nEND:VCALENDAR\n",
        subject=b"Invitation: Death declaration training", content_type=b"text/calendar; charset=utf-8; method=REQUEST"),
        text=["Bring the tablets that fail to sync"], may_quarantine=True),
    # S/MIME, clear-signed (many ministries sign all mail).
    "smime-signed": Case(mail(
        b"This is an S/MIME signed message\n\n--s1\nContent-Type: text/plain; charset=utf-8\n\n"
        b"The printer in the Chuminga office prints certificates without the seal.\n"
        b"--s1\nContent-Type: application/pkcs7-signature; name=\"smime.p7s\"\nContent-Transfer-Encoding: base64\n"
        b"Content-Disposition: attachment; filename=\"smime.p7s\"\nContent-Description: S/MIME Cryptographic Signature\n\n" + b64(PKCS7_SIGNATURE) + b"--s1--\n",
        content_type=b'multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256; boundary="s1"'),
        text=["The printer in the Chuminga office prints certificates without the seal."]),
    # HTML with its pictures inline (cid:), after a plain alternative.
    "related-inline-cid": Case(mail(
        b"--a1\nContent-Type: text/plain; charset=utf-8\n\nThe map of the health facilities is empty, see the screenshot.\n"
        b"--a1\nContent-Type: multipart/related; boundary=\"r1\"\n\n"
        b"--r1\nContent-Type: text/html; charset=utf-8\n\n<p>The map of the health facilities is empty, see the screenshot.</p><img src=\"cid:map@x\">\n"
        b"--r1\nContent-Type: image/png\nContent-ID: <map@x>\nContent-Transfer-Encoding: base64\n\n" + b64(PNG) + b"--r1--\n--a1--\n",
        content_type=b'multipart/alternative; boundary="a1"'),
        text=["The map of the health facilities is empty"], attachments=["map@x"]),
    # The same in HTML only, the picture inline.
    "related-html-only": Case(mail(
        b"--r1\nContent-Type: text/html; charset=utf-8\n\n<div>Voici l'&eacute;cran <img src=\"cid:ecran@x\" alt=\"capture\"> : la carte est vide.</div>\n"
        b"--r1\nContent-Type: image/png\nContent-ID: <ecran@x>\nContent-Disposition: inline; filename=\"capture.png\"\nContent-Transfer-Encoding: base64\n\n"
        + b64(PNG) + b"--r1--\n", content_type=b'multipart/related; boundary="r1"; type="text/html"'),
        text=["Voici l'écran", "la carte est vide"], attachments=["capture.png"]),
    # File names: RFC 2047 inside the quotes (Outlook, Thunderbird), RFC 2231 with continuations, and
    # RFC 2231 in a charset nobody knows.
    "encoded-attachment-names": Case(mail(
        b"--m1\nContent-Type: text/plain; charset=utf-8\n\nThe three documents for the late registration.\n"
        b"--m1\nContent-Type: application/pdf; name=\"=?UTF-8?B?YWN0ZSBkZSBuYWlzc2FuY2Ug4oCTIMOpdMOpLnBkZg==?=\"\nContent-Transfer-Encoding: base64\n"
        b"Content-Disposition: attachment; filename=\"=?UTF-8?B?YWN0ZSBkZSBuYWlzc2FuY2Ug4oCTIMOpdMOpLnBkZg==?=\"\n\n" + b64(PDF) +
        b"--m1\nContent-Type: application/pdf\nContent-Transfer-Encoding: base64\n"
        b"Content-Disposition: attachment;\n filename*0*=utf-8''d%C3%A9claration%20tardive%20;\n filename*1*=n%C2%B02.pdf\n\n" + b64(PDF + b"2") +
        b"--m1\nContent-Type: application/pdf\nContent-Transfer-Encoding: base64\n"
        b"Content-Disposition: attachment; filename*=x-unknown-charset''preuve%20%E9.pdf\n\n" + b64(PDF + b"3") + b"--m1--\n",
        content_type=b'multipart/mixed; boundary="m1"'),
        text=["The three documents for the late registration."], attachments=["acte de naissance – été.pdf", "déclaration tardive n°2.pdf"]),
    # Encoded words in a charset nobody knows, between ordinary ones.
    "subject-unknown-charset": Case(mail(
        b"The subject says it all.\n", subject=b"=?utf-8?q?Probl=C3=A8me?= =?x-mac-klingon?q?d=27impression?= =?iso-8859-1?q?apr=E8s?= update"),
        text=["The subject says it all."], subject_has=["Problème", "après", "update"]),
    # A NUL in an encoded word of the subject (a broken mail merge).
    "subject-nul-encoded-word": Case(mail(b"The code never arrives.\n", subject=b"=?utf-8?q?Code_not_received=00?="),
                                     text=["The code never arrives."]),
    # A photo from a phone, with a subject and nothing else.
    "image-only": Case(mail(
        b"--i1\nContent-Type: image/jpeg; name=\"IMG_20250106_091200.jpg\"\nContent-Transfer-Encoding: base64\n"
        b"Content-Disposition: attachment; filename=\"IMG_20250106_091200.jpg\"\n\n" + b64(JPEG) + b"--i1--\n",
        subject=b"Screenshot of the error", content_type=b'multipart/mixed; boundary="i1"'),
        text=[], attachments=["IMG_20250106_091200.jpg"], subject="Screenshot of the error"),
    # ... and the same without a subject: all too common from a phone.
    "image-only-no-subject": Case(mail(
        b"--i1\nContent-Type: image/jpeg\nContent-Transfer-Encoding: base64\nContent-Disposition: inline\n\n" + b64(JPEG) + b"--i1--\n",
        subject=None, content_type=b'multipart/mixed; boundary="i1"'),
        text=[], attachments=[]),
    # Says UTF-8, is Latin-1 (an old mail merge).
    "charset-wrong-latin1-as-utf8": Case(mail(
        "Le d\u00e9lai de d\u00e9claration est d\u00e9pass\u00e9, que faire ?\n".encode("latin-1")),
        text=["Le délai de déclaration est dépassé, que faire ?"]),
    # Says us-ascii, is UTF-8 (a script that never set the charset).
    "charset-wrong-utf8-as-ascii": Case(mail(
        "Le d\u00e9lai de d\u00e9claration est d\u00e9pass\u00e9, que faire ?\n".encode("utf-8"), content_type=b"text/plain; charset=us-ascii"),
        text=["Le délai de déclaration est dépassé, que faire ?"]),
    # Says UTF-8, is UTF-16 (a Windows tool's export pasted as the body), and no subject.
    "charset-wrong-utf16-as-utf8": Case(UTF16_AS_UTF8, text=["The export of the register fails at line 12."]),
    # 8-bit headers (RFC 6532, SMTPUTF8): UTF-8 straight in the Subject and the sender's name.
    "8bit-headers-utf8": Case(mail(
        b"Le certificat ne s'imprime pas.\n", subject="Probl\u00e8me d'impression \u2013 certificat".encode("utf-8"),
        sender="Jos\u00e9 Mwal\u00e9 <jose.mwale@farajaland.example>".encode("utf-8")),
        text=["Le certificat ne s'imprime pas."], subject="Problème d'impression – certificat"),
    # 8-bit headers in Latin-1 (an old client that never encoded them).
    "8bit-headers-latin1": Case(mail(
        b"Le certificat ne s'imprime pas.\n", subject="Probl\u00e8me d'impression".encode("latin-1"),
        sender="Jos\u00e9 Mwale <jose.mwale@farajaland.example>".encode("latin-1")),
        text=["Le certificat ne s'imprime pas."]),
    # The whole request in the subject, the body empty.
    "empty-body": Case(mail(b"", subject=b"Verification code never arrives on my phone"),
                       text=["Verification code never arrives on my phone"]),
    # No subject, no body: nothing to act on, a person looks at it.
    "empty-body-no-subject": Case(mail(b"", subject=None), text=[], may_quarantine=True),
    # Transfer encodings as broken mailers write them.
    "cte-unknown": Case(mail(b"The tablet shows error E42 when syncing.\n", extra=b"Content-Transfer-Encoding: x-garbage-encoding\n"),
                        text=["The tablet shows error E42 when syncing."]),
    "cte-base64-broken": Case(mail(
        b64("The tablet shows error E42 when syncing.\n".encode())[:-6] + b"!!*not base64 at all*\n", extra=b"Content-Transfer-Encoding: base64\n"),
        text=["The tablet shows error E42"]),
    "cte-qp-broken": Case(mail(b"The tablet shows error E42 =ZZ when syncing =\n", extra=b"Content-Transfer-Encoding: quoted-printable\n"),
                          text=["The tablet shows error E42"]),
    "cte-base64-declared-on-plain-text": Case(mail(b"The tablet shows error E42 when syncing.\n", extra=b"Content-Transfer-Encoding: base64\n"),
                                              text=[], may_quarantine=True),
    # One line of 3 MB (a log pasted without line breaks).
    "extremely-long-line": Case(mail(b"Sync log: " + b"0123456789abcdef;" * 180_000 + b" END\n"), text=["Sync log: 0123456789abcdef;"]),
}


@pytest.fixture(params=["fake-desk", "real-desk"])
def desk(request, app):
    """The fake desk of tests/channels/conftest.py, or the real ticket desk (tickets read back from the database)."""
    if request.param == "fake-desk":
        return request.getfixturevalue("fake_desk")
    from portal.tickets import services as tickets

    with app.app_context():
        tenant = get_tenant("farajaland")
        with tenant_scope(db.session, tenant.id):
            tickets.ensure_categories(tenant)
    return None


def outcome(app, desk):
    """(the inbound row, and the ticket as (subject, body, {attachment name: bytes}), or None)."""
    with app.app_context():
        tenant = get_tenant("farajaland")
        with tenant_scope(db.session, tenant.id):
            [row] = db.session.scalars(select(InboundMessage)).all()
            db.session.expunge(row)
            if desk is not None:
                if not desk.tickets:
                    return row, None
                [ticket] = desk.tickets.values()
                files = {name: stream.getvalue() for name, stream in ticket["attachments"]}
                return row, (ticket["subject"], ticket["body"], files)
            from portal.tickets.models import Attachment, Message, Ticket
            from portal.tickets.storage import open_stored

            tickets = db.session.scalars(select(Ticket)).all()
            if not tickets:
                return row, None
            [ticket] = tickets
            first = db.session.scalars(select(Message).where(Message.ticket_id == ticket.id).order_by(Message.id)).first()
            files = {a.filename: open_stored(a.storage_path).read_bytes() for a in db.session.scalars(select(Attachment).where(Attachment.ticket_id == ticket.id))}
            return row, (ticket.subject, first.body, files)


def readable(text: str) -> bool:
    """Text a person can read: not empty, no NUL or other control characters, no undecoded bytes."""
    return bool(text.strip()) and "\ufffd" not in text and not any(ord(c) < 32 and c not in "\t\n\r" for c in text)


@pytest.mark.parametrize("name", list(CASES))
def test_wild_mail_is_stored_and_reaches_the_desk_readable(app, runner, desk, name):
    case = CASES[name]
    started = time.monotonic()
    result = runner.invoke(args=["channels", "email-ingest", "--tenant", "farajaland"], input=case.raw)
    elapsed = time.monotonic() - started
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 0, result.output
    assert result.output.startswith("stored "), result.output
    assert elapsed < 20, f"ingesting took {elapsed:.1f}s"
    row, ticket = outcome(app, desk)
    assert row.raw == case.raw  # kept byte for byte, whatever happened next
    if row.status == InboundStatus.QUARANTINED and case.may_quarantine:
        assert row.error.strip(), "quarantined without a reason"
        return
    assert (row.status, row.error) == (InboundStatus.PROCESSED, ""), f"{row.status}: {row.error}"
    assert ticket is not None
    subject, body, files = ticket
    assert readable(subject), f"subject {subject!r}"
    if case.subject is not None:
        assert subject == case.subject
    for word in case.subject_has:
        assert word in subject, f"{word!r} not readable in the subject {subject!r}"
    assert readable(body), f"body {body[:300]!r}"
    for name in case.attachments:
        assert name in files, f"attachment {name!r} missing from {sorted(files)}"
    attached_text = b"\n".join(files.values())
    for text in case.text:
        assert text in body or text.encode() in attached_text, f"{text!r} reached neither the ticket's body nor its attachments: {body[:300]!r}"


def test_a_message_the_database_cannot_keep_as_text_does_not_stop_the_imap_poller(app, runner, imap_box):
    """Text decoded to NUL characters (which PostgreSQL text columns refuse) must not make the poll fail
    at that message, poll after poll, keeping every later message out of the desk."""
    from tests.channels.conftest import fixture_bytes
    from tests.channels.test_imap_poller import poll, stored

    imap_box.deliver(UTF16_AS_UTF8)
    imap_box.deliver(fixture_bytes("plain_utf8_qp.eml"))
    result = poll(runner)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    statuses, _tickets = stored(app)
    assert "qp-utf8-1@health.farajaland.example" in statuses  # the next message is not held up
    assert "utf16-as-utf8@health.farajaland.example" in statuses  # and this one is kept, as every message is


def test_a_file_the_desk_does_not_keep_is_named_on_the_ticket_instead_of_costing_the_message(app, runner):
    """The real desk refuses winmail.dat (a type it does not keep): the ticket still opens, with the
    mail's subject, and says which file was not kept, so the agent can ask for it again."""
    result = runner.invoke(args=["channels", "email-ingest", "--tenant", "farajaland"], input=CASES["winmail-dat-only"].raw)
    assert result.exit_code == 0, result.output
    row, ticket = outcome(app, None)
    assert row.status == InboundStatus.PROCESSED
    subject, body, files = ticket
    assert subject == "Birth registration problem" and files == {}
    assert "“winmail.dat” is not a file type we accept" in body
