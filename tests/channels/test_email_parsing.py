"""What the desk reads out of each kind of email (fixtures written for this project)."""
import pytest

from portal.channels.emailparse import MalformedEmail, html_to_text, parse_email, strip_quotes_and_signature
from tests.channels.conftest import fixture_bytes


@pytest.mark.parametrize(
    "name, subject, text",
    [
        ("plain_utf8_qp.eml", "Code de vérification non reçu", "Je ne reçois pas le code de vérification à 6 chiffres depuis ce matin."),
        ("latin1_windows1252.eml", "Frais de retard – combien ?", "déclaration tardive – après 30 jours ?\nLe coût était 5 €"),
        ("utf8_base64.eml", "Certificate preview blank", "The certificate preview is blank on my tablet — Chrome 120."),
        ("unknown_charset.eml", "Strange charset", "plain ascii still readable"),
    ],
)
def test_any_charset_and_encoded_headers_are_read(name, subject, text):
    parsed = parse_email(fixture_bytes(name))
    assert parsed.subject == subject
    assert text in parsed.text
    assert parsed.auto_reason is None


def test_encoded_sender_name_and_language():
    assert parse_email(fixture_bytes("latin1_windows1252.eml")).sender_name == "José Mwale"
    parsed = parse_email(fixture_bytes("plain_utf8_qp.eml"))
    assert parsed.language == "fr"
    assert "Agente d'enregistrement" not in parsed.text  # the signature after "-- " is gone
    assert "Agente d'enregistrement" in parsed.full_text


def test_multipart_alternative_prefers_text_and_keeps_attachments_and_inline_images():
    parsed = parse_email(fixture_bytes("alternative_attachments.eml"))
    assert parsed.text == 'My declaration is stuck with "failed to send" after working offline. Screenshot below.'
    files = {a.filename: a for a in parsed.attachments}
    assert set(files) == {"shot1@x", "déclaration n°1.pdf", "journal_été.txt"}  # RFC 2231 and RFC 2047 names
    assert files["shot1@x"].inline and files["shot1@x"].content_id == "shot1@x"
    assert files["déclaration n°1.pdf"].data.startswith(b"%PDF")
    assert not files["déclaration n°1.pdf"].inline


def test_html_only_mail_becomes_safe_text():
    parsed = parse_email(fixture_bytes("html_only.eml"))
    assert parsed.text == "The health facility Chikobo Rural Health Centre is missing from the drop-down.\n\nCan you add it?\n\nThanks"
    assert "<" not in parsed.full_text and "alert" not in parsed.full_text and "old text" not in parsed.full_text


@pytest.mark.parametrize("name, expected", [("reply_en.eml", "Thank you, it works now."), ("reply_fr.eml", "Toujours le même problème après la mise à jour.")])
def test_quoted_replies_and_phone_signatures_are_stripped(name, expected):
    assert parse_email(fixture_bytes(name)).text == expected


def test_threading_headers_newest_first():
    parsed = parse_email(fixture_bytes("reply_en.eml"))
    assert parsed.in_reply_to == ["out-1@farajaland.example", "first-1@health.farajaland.example"]


@pytest.mark.parametrize(
    "name, reason",
    [("auto_reply.eml", "Auto-Submitted: auto-replied"), ("bulk_list.eml", "Precedence: bulk"), ("bounce_dsn.eml", "delivery report")],
)
def test_machines_are_recognised(name, reason):
    assert parse_email(fixture_bytes(name)).auto_reason == reason


def test_a_bounce_names_the_message_that_bounced():
    assert parse_email(fixture_bytes("bounce_dsn.eml")).bounced_message_ids == ["out-bounced-1@farajaland.example"]


@pytest.mark.parametrize("name, reason", [("malformed_no_headers.eml", "does not start with headers"), ("malformed_no_sender.eml", "no valid sender")])
def test_malformed_mail_is_refused_with_a_reason(name, reason):
    with pytest.raises(MalformedEmail, match=reason):
        parse_email(fixture_bytes(name))


def test_a_quote_header_on_the_first_line_is_not_mistaken_for_the_end():
    assert strip_quotes_and_signature("On Monday the code never came.\nPlease help.") == "On Monday the code never came.\nPlease help."
    assert html_to_text("<p>a</p><p>b</p>") == "a\n\nb"


def _mail(body: bytes, headers: bytes = b"Content-Type: text/plain; charset=utf-8\n", subject: bytes = b"Help") -> bytes:
    return b"From: Amina <amina@example.org>\nTo: support@example.org\nSubject: " + subject + b"\n" + headers + b"\n" + body


@pytest.mark.parametrize("text", ["Ok", "Thanks!", "Merci é", "Merci beaucoup pour votre aide.", "أحتاج شهادة ميلاد لابني"])
def test_base64_bodies_of_any_length_come_out_whole(text):
    import base64

    raw = _mail(base64.encodebytes(text.encode()), b"Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n")
    assert parse_email(raw).text == text


def test_attachments_come_out_byte_for_byte():
    import base64

    jpeg = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 3 + b"\xff\xd9"
    raw = _mail(b"--b\nContent-Type: text/plain\n\nSee the photo.\n--b\nContent-Type: image/jpeg\nContent-Transfer-Encoding: base64\n"
                b"Content-Disposition: attachment; filename=photo.jpg\n\n" + base64.encodebytes(jpeg) + b"--b--\n",
                b'Content-Type: multipart/mixed; boundary="b"\n')
    [photo] = parse_email(raw).attachments
    assert photo.data == jpeg


@pytest.mark.parametrize("subject, decoded", [
    (b"=?UTF-8?Q?Acte_de_naissance_=C3=A9?= urgent", "Acte de naissance é urgent"),
    (b"Re: [FAR-000012] =?utf-8?B?w6k=?= done", "Re: [FAR-000012] é done"),
    (b"=?utf-8?Q?caf=C3=A9?= =?iso-8859-1?Q?_na=EFve?=", "café naïve"),
])
def test_encoded_words_keep_single_spaces(subject, decoded):
    assert parse_email(_mail(b"body\n", subject=subject)).subject == decoded


def test_a_forward_of_a_forward_keeps_every_text_and_file():
    innermost = (b"From: clerk@example.org\nSubject: innermost\nContent-Type: multipart/mixed; boundary=z\n\n--z\nContent-Type: text/plain\n\n"
                 b"innermost text\n--z\nContent-Type: application/pdf\nContent-Disposition: attachment; filename=cert.pdf\n\n%PDF-1.4 x\n--z--\n")
    middle = (b"From: registrar@example.org\nSubject: middle\nContent-Type: multipart/mixed; boundary=y\n\n--y\nContent-Type: text/plain\n\n"
              b"middle text\n--y\nContent-Type: message/rfc822\n\n" + innermost + b"--y--\n")
    raw = _mail(b"--x\nContent-Type: text/plain\n\nouter text\n--x\nContent-Type: message/rfc822\n\n" + middle + b"--x--\n",
                b"Content-Type: multipart/mixed; boundary=x\n")
    parsed = parse_email(raw)
    assert all(text in parsed.text for text in ("outer text", "middle text", "innermost text"))
    assert [a.filename for a in parsed.attachments] == ["cert.pdf"]


def test_a_forward_inside_quoted_history_stays_history():
    reply = ("Thanks, it works now!\n\nFrom: Support <support@example.org>\nSent: Monday\n\nPlease try again.\n\n"
             "---------- Forwarded message ---------\nFrom: clerk\nold text")
    assert strip_quotes_and_signature(reply) == "Thanks, it works now!"


def test_a_gmail_forward_written_in_html_only_keeps_the_forwarded_text_and_a_reply_still_drops_its_quote():
    forward = ('<div dir="ltr">FYI, can you help?<br><br><div class="gmail_quote"><div dir="ltr" class="gmail_attr">'
               "---------- Forwarded message ---------<br>From: Registrar &lt;registrar@example.org&gt;<br></div><br>"
               "<div>The record was rejected: the informant's ID number is missing.</div></div></div>")
    parsed = parse_email(_mail(forward.encode(), b"Content-Type: text/html; charset=utf-8\n", subject=b"Record rejected"))
    assert parsed.text.startswith("FYI, can you help?") and "the informant's ID number is missing" in parsed.text
    reply = ('<div dir="ltr">Thanks, it works.</div><div class="gmail_quote"><div class="gmail_attr">On Monday, Support wrote:</div>'
             "<blockquote>Try again.<br>---------- Forwarded message ---------<br>old text</blockquote></div>")
    assert parse_email(_mail(reply.encode(), b"Content-Type: text/html; charset=utf-8\n")).text == "Thanks, it works."
