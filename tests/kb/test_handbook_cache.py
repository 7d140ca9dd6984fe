"""The handbook PDF is made once per version of what it shows, kept as a file, and revalidated by phones.

WeasyPrint is replaced by a stand-in that writes the HTML it was given (so a test reads what the PDF
would show) and counts its calls; `test_handbook.py` makes a real one.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from portal.kb import handbook, services
from tests.kb.conftest import draft

PDF = "/farajaland/kb/handbook.pdf"
EN = {"Accept-Language": "en"}
FR = {"Accept-Language": "fr"}


@pytest.fixture
def made(monkeypatch):
    """The HTML of every PDF made, in order."""
    markups: list[str] = []

    def fake_write_pdf(markup: str) -> bytes:
        markups.append(markup)
        return b"%PDF-1.7 stand-in\n" + markup.encode("utf-8")

    monkeypatch.setattr(handbook, "write_pdf", fake_write_pdf)
    return markups


def test_second_request_is_sent_from_the_kept_file(client, library, made):
    first = client.get(PDF, headers=EN)
    second = client.get(PDF, headers=EN)

    assert first.status_code == second.status_code == 200
    assert len(made) == 1
    assert second.data == first.data and second.headers["ETag"] == first.headers["ETag"]
    assert second.mimetype == "application/pdf"
    assert "farajaland-handbook-en.pdf" in second.headers["Content-Disposition"]
    assert second.headers["Cache-Control"] == "private, no-cache" and "Last-Modified" in second.headers


def test_phone_with_the_current_version_downloads_nothing(client, library, made):
    etag = client.get(PDF, headers=EN).headers["ETag"]

    again = client.get(PDF, headers={**EN, "If-None-Match": etag})

    assert again.status_code == 304 and again.data == b""
    assert again.headers["ETag"] == etag
    assert len(made) == 1


def test_conditional_get_by_date_and_resumed_download(client, library, made):
    first = client.get(PDF, headers=EN)

    by_date = client.get(PDF, headers={**EN, "If-Modified-Since": first.headers["Last-Modified"]})
    resumed = client.get(PDF, headers={**EN, "Range": "bytes=10-"})

    assert by_date.status_code == 304
    assert resumed.status_code == 206 and resumed.data == first.data[10:]


def test_article_edit_gives_a_new_handbook(client, library, made, kb_edit):
    before = client.get(PDF, headers=EN)
    kb_edit("farajaland", lambda tenant: services.save_article(tenant, None, "password-reset", "en", draft(
        title="Resetting a password, new way", category="access-and-login")))

    stale = client.get(PDF, headers={**EN, "If-None-Match": before.headers["ETag"]})

    assert stale.status_code == 200
    assert stale.headers["ETag"] != before.headers["ETag"]
    assert b"Resetting a password, new way" in stale.data and b"Resetting a password, new way" not in before.data
    assert len(made) == 2
    kept = list(Path(client.application.config["HANDBOOK_CACHE_DIR"]).glob("*/en-*.pdf"))
    assert [path.read_bytes() for path in kept] == [stale.data]  # the older one is removed


def test_tenant_settings_change_gives_a_new_handbook(client, library, made, configure_tenant):
    before = client.get(PDF, headers=EN)
    configure_tenant("farajaland", "support", whatsapp="+260 97 000 1111")

    after = client.get(PDF, headers=EN)

    assert after.headers["ETag"] != before.headers["ETag"]
    assert b"+260 97 000 1111" in after.data


def test_one_tenants_handbook_is_never_sent_for_another(client, library, made):
    farajaland = client.get(PDF, headers=FR)
    kalondo = client.get("/kalondo/kb/handbook.pdf", headers=FR)
    asked_with_the_other_etag = client.get("/kalondo/kb/handbook.pdf", headers={**FR, "If-None-Match": farajaland.headers["ETag"]})

    assert kalondo.headers["ETag"] != farajaland.headers["ETag"]
    assert b"Kalondo" in kalondo.data and b"Farajaland" not in kalondo.data
    assert asked_with_the_other_etag.status_code == 200 and asked_with_the_other_etag.data == kalondo.data
    assert "kalondo-handbook-fr.pdf" in kalondo.headers["Content-Disposition"]
    assert len(made) == 2


def test_each_locale_has_its_own_handbook(client, library, made):
    english = client.get(PDF, headers=EN)
    french = client.get(PDF, headers=FR)
    french_again = client.get(PDF, headers={**FR, "If-None-Match": english.headers["ETag"]})

    assert english.headers["ETag"] != french.headers["ETag"]
    assert b'<html lang="en">' in english.data and b'<html lang="fr">' in french.data
    assert "Le code de v\u00e9rification n'arrive pas".encode() in french.data.replace(b"&#39;", b"'")
    assert "farajaland-handbook-fr.pdf" in french.headers["Content-Disposition"]
    assert french_again.status_code == 200 and french_again.data == french.data
    assert len(made) == 2


def test_servers_sharing_the_folder_make_it_once_and_see_each_others_edits(make_app, library, made, kb_edit, tmp_path):
    shared = str(tmp_path / "shared-handbooks")
    one, two = make_app(HANDBOOK_CACHE_DIR=shared).test_client(), make_app(HANDBOOK_CACHE_DIR=shared).test_client()

    first = one.get(PDF, headers=EN)
    assert two.get(PDF, headers=EN).data == first.data
    assert len(made) == 1

    kb_edit("farajaland", lambda tenant: services.save_article(tenant, None, "password-reset", "en", draft(
        title="Edited on server two", category="access-and-login")))

    assert b"Edited on server two" in one.get(PDF, headers=EN).data
    assert b"Edited on server two" in two.get(PDF, headers=EN).data
    assert len(made) == 2


def test_cli_makes_every_locale_before_the_first_reader(app, runner, library, made):
    result = runner.invoke(args=["kb", "handbook", "--tenant", "farajaland"])

    assert result.exit_code == 0, result.output
    assert "farajaland en:" in result.output and "farajaland fr:" in result.output
    assert len(made) == 2
    response = app.test_client().get(PDF, headers=FR)
    assert response.status_code == 200 and len(made) == 2


def test_a_file_another_server_replaced_before_it_was_read_is_made_again_not_a_500(client, library, made, kb_edit, monkeypatch):
    client.get(PDF, headers=EN)
    read = handbook.Handbook.read

    def replaced_meanwhile(book):  # between finding the file and reading it, an edit and another server's build
        monkeypatch.setattr(handbook.Handbook, "read", read)
        kb_edit("farajaland", lambda tenant: services.save_article(tenant, None, "password-reset", "en", draft(
            title="Resetting a password, new way", category="access-and-login")))
        book.path.unlink()
        return read(book)

    monkeypatch.setattr(handbook.Handbook, "read", replaced_meanwhile)
    response = client.get(PDF, headers=EN)
    assert response.status_code == 200 and b"Resetting a password, new way" in response.data
