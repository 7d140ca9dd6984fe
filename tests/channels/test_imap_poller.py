"""The IMAP poller against a real IMAP server on loopback: unseen mail stored and then marked seen
or moved, errors reported without losing anything, and a lost connection picked up at the next poll."""
import imaplib
import socket

from sqlalchemy import select

from portal.channels import mail
from portal.channels.models import InboundMessage
from portal.core.db import db, tenant_scope
from portal.tenancy.services import get_tenant
from portal.tickets.models import Ticket
from tests.channels.conftest import fixture_bytes

QP = fixture_bytes("plain_utf8_qp.eml")  # Message-ID <qp-utf8-1@...>
B64 = fixture_bytes("utf8_base64.eml")
AUTO = fixture_bytes("auto_reply.eml")


def stored(app):
    """(inbound statuses by provider id, number of tickets) of Farajaland."""
    with app.app_context(), tenant_scope(db.session, get_tenant("farajaland").id):
        rows = {r.provider_id: r.status for r in db.session.scalars(select(InboundMessage))}
        return rows, len(db.session.scalars(select(Ticket.id)).all())


def poll(runner, *args):
    return runner.invoke(args=["channels", "imap-poll", "--tenant", "farajaland", *args])


def test_unseen_mail_is_stored_then_marked_seen_and_mail_already_read_is_left_alone(app, runner, imap_box):
    imap_box.deliver(B64, seen=True)  # read by someone in a mail client: not for the desk
    imap_box.deliver(QP)
    imap_box.deliver(AUTO)
    result = poll(runner)
    assert result.exit_code == 0, result.output
    assert "farajaland: 2 stored" in result.output
    statuses, tickets = stored(app)
    assert sorted(statuses.values()) == ["ignored", "processed"] and tickets == 1  # the auto-reply opens nothing
    assert [seen for _, seen in imap_box.messages()] == [True, True, True]
    again = poll(runner)
    assert "farajaland: 0 stored" in again.output and stored(app)[1] == 1


def test_with_a_folder_to_move_to_the_box_is_emptied_and_a_failed_move_is_never_a_second_ticket(app, runner, imap_box, configure_channel):
    configure_channel("email", imap_move_to="Support/Done")
    imap_box.deliver(QP)
    first = poll(runner)  # the folder does not exist yet: stored, but left in the box
    assert first.exit_code == 1 and "moving message" in first.output
    assert stored(app)[1] == 1 and len(imap_box.messages()) == 1
    imap_box.create("Support/Done")
    imap_box.deliver(B64)
    second = poll(runner)
    assert second.exit_code == 0, second.output
    assert "farajaland: 1 stored, 1 already stored" in second.output
    assert imap_box.messages() == []
    assert len(imap_box.messages("Support/Done")) == 2
    assert stored(app)[1] == 2  # one ticket per message, not three


def test_a_folder_name_with_spaces_is_polled(app, runner, imap_box, configure_channel):
    imap_box.create("Support Desk")
    imap_box.deliver(QP, folder="Support Desk")
    configure_channel("email", imap_folder="Support Desk")
    assert "farajaland: 1 stored" in poll(runner).output
    assert [seen for _, seen in imap_box.messages("Support Desk")] == [True]


def test_a_refused_login_is_reported_and_the_other_countries_are_still_polled(app, runner, imap_box, monkeypatch):
    monkeypatch.setenv("FARA_IMAP_PASS", "wrong")
    imap_box.deliver(QP)
    result = runner.invoke(args=["channels", "imap-poll"])
    assert result.exit_code == 1
    assert "IMAP login to 127.0.0.1" in result.output and "refused" in result.output
    assert "kalondo: 0 stored" in result.output
    assert stored(app) == ({}, 0) and [seen for _, seen in imap_box.messages()] == [False]


def test_an_unreachable_server_is_reported(app, runner, imap_box, configure_channel):
    with socket.socket() as s:  # a port where nothing listens
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    configure_channel("email", imap_port=port)
    result = poll(runner)
    assert result.exit_code == 1 and "ConnectionRefusedError" in result.output


def test_a_message_too_large_is_left_unseen_and_reported_while_the_others_are_stored(app, runner, imap_box, monkeypatch):
    monkeypatch.setattr(mail, "MAX_EMAIL_BYTES", len(QP) + 10)
    imap_box.deliver(QP + b"\n" + b"x" * 100)
    imap_box.deliver(B64 if len(B64) <= len(QP) else QP)
    result = poll(runner)
    assert "left in the box: message larger than" in result.output
    assert "farajaland: 1 stored" in result.output
    assert [seen for _, seen in imap_box.messages()] == [False, True]


def test_a_connection_lost_mid_poll_is_picked_up_by_the_next_poll_without_a_second_ticket(app, runner, imap_box, monkeypatch):
    """The first message is stored, then the connection dies before it is marked seen. The next
    poll (the same command with --every) connects again, finds it still unseen, knows it by its
    Message-ID, marks it seen, and stores the second one."""
    imap_box.deliver(QP)
    imap_box.deliver(B64)
    uid = imaplib.IMAP4.uid
    lost = []

    def drop_before_first_store(self, command, *args):
        if command == "STORE" and not lost:
            lost.append(True)
            self.sock.shutdown(socket.SHUT_RDWR)
        return uid(self, command, *args)

    monkeypatch.setattr(imaplib.IMAP4, "uid", drop_before_first_store)
    result = poll(runner, "--every", "0.1", "--rounds", "2")
    assert result.exit_code == 0, result.output  # the last poll went well
    assert "the rest waits for the next poll" in result.output
    assert "farajaland: 0 stored" in result.output  # first poll: stored in the desk, not yet released by the box
    assert "farajaland: 1 stored, 1 already stored" in result.output
    statuses, tickets = stored(app)
    assert sorted(statuses.values()) == ["processed", "processed"] and tickets == 2
    assert [seen for _, seen in imap_box.messages()] == [True, True]
