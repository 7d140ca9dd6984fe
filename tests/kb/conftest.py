"""Knowledge-base fixtures: a small library written for the tests, imported like the real one."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from portal.core.db import db, tenant_scope
from portal.kb import importer, services
from portal.tenancy.services import get_tenant

CATEGORIES = """\
- slug: access-and-login
  title: {en: Access and login, fr: Accès et connexion}
- slug: certificates-and-printing
  title: {en: Certificates and printing, fr: Certificats et impression}
- slug: other
  title: {en: Other questions, fr: Autres questions}
"""

ARTICLES = {
    "en/code-not-received.md": ("code-not-received", "The verification code never arrives", "en", "access-and-login", ["sms", "code"], "public",
        "Wait two minutes, then ask for a new code.\n\nStill nothing? Write to us on WhatsApp at {{ support.whatsapp }}.\n"),
    "fr/code-not-received.md": ("code-not-received", "Le code de vérification n'arrive pas", "fr", "access-and-login", ["sms", "code"], "public",
        "Attendez deux minutes, puis demandez un nouveau code.\n\nToujours rien ? Écrivez-nous sur WhatsApp au {{ support.whatsapp }}.\n"),
    "en/printing-certificates.md": ("printing-certificates", "Printing certificates", "en", "certificates-and-printing", ["print"], "public",
        "Certificates are printed from the record page. A copy costs {{ registration.fees.certificate_copy }} {{ country.currency }}.\n\n"
        "> **Note:** check the printer has paper.\n"),
    "en/password-reset.md": ("password-reset", "Resetting a forgotten password", "en", "access-and-login", ["password"], "public",
        "Tap **Forgot password** on the login screen and follow the steps. The code is valid for {{ registration.verification_code_minutes }} minutes.\n"),
    "en/staff-triage.md": ("staff-triage", "Triage checklist for agents", "en", "other", ["triage"], "staff",
        "Ask for the office, the device and a screenshot before escalating.\n"),
}


def article_file(slug, title, locale, category, tags, audience, body, status="published") -> str:
    tag_list = ", ".join(tags)
    return textwrap.dedent(f"""\
        ---
        slug: {slug}
        title: "{title}"
        locale: {locale}
        category: {category}
        tags: [{tag_list}]
        audience: {audience}
        status: {status}
        ---

        """) + body


def write_library(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "categories.yaml").write_text(CATEGORIES, encoding="utf-8")
    for name, (slug, title, locale, category, tags, audience, body) in ARTICLES.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(article_file(slug, title, locale, category, tags, audience, body), encoding="utf-8")
    return folder


@pytest.fixture
def library_dir(tmp_path):
    return write_library(tmp_path / "library")


@pytest.fixture
def library(app, library_dir):
    """The test library imported into the generic library (every tenant sees it)."""
    with app.app_context():
        report = importer.import_folder(library_dir)
        db.session.commit()
        assert not report.problems, report.problems
    return library_dir


@pytest.fixture
def kb_edit(app):
    """Run a knowledge-base change as one tenant, and commit it: kb_edit("farajaland", fn, *args)."""

    def run(tenant_slug, action, *args, **kwargs):
        with app.app_context():
            tenant = get_tenant(tenant_slug)
            with tenant_scope(db.session, tenant.id):
                result = action(tenant, *args, **kwargs)
                db.session.commit()
            return result

    return run


def draft(title="Local title", body="Local body.", category="other", tags=(), audience="public", status="published"):
    return services.Draft(title, body, category, list(tags), audience, status)
