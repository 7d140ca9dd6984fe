"""Demo tickets and canned responses for `flask --app wsgi demo load` (idempotent)."""
from __future__ import annotations

from sqlalchemy import func, select

from portal.auth.services import get_user_by_email
from portal.core.db import db, tenant_scope
from portal.tenancy.models import Tenant
from portal.tickets import services
from portal.tickets.models import CannedResponse, Ticket

# (locale, subject, body, category, priority, channel, requester: "agent" or (name, email/phone), steps)
# Steps: ("reply", text) public reply by L1; ("note", text) internal note by L1; ("status", s); ("rate", n, comment)
DEMO_TICKETS = {
    "en": [
        (
            "Verification code never arrives",
            "I try to log in on my tablet at Ibombo District Office but the 6-digit code never comes by SMS. I tried three times this morning.",
            "access-and-login", "high", "web", "agent",
            [("reply", "Thank you. Please check that the phone number in your OpenCRVS profile is right, and that the tablet has signal. Did the code arrive on a second try after 2 minutes?"), ("status", "waiting")],
        ),
        (
            "Declaration stuck in the outbox: “failed to send”",
            "I declared two births in a village without network. Now I am back in town and they still say failed to send.",
            "offline-and-sync", "normal", "whatsapp", ("Field agent Chanda", "+260 97 555 0142"),
            [("note", "Probably the known sync issue after a long offline period. Ask for the app version.")],
        ),
        (
            "Certificate preview is blank before printing",
            "When I open the certificate preview for a registered birth, the page is white. Printing gives an empty PDF.",
            "certificates-and-printing", "urgent", "email", ("Registrar Mwale", "registrar.mwale@example.org"),
            [],
        ),
        (
            "Forgotten 4-digit PIN",
            "I forgot my screen-lock PIN and now I am locked out of the app.",
            "access-and-login", "normal", "web", "agent",
            [("reply", "You can log out from the PIN screen and log in again with your username and password; you will then choose a new PIN."), ("status", "resolved"), ("rate", 5, "Clear and fast, thank you.")],
        ),
    ],
    "fr": [
        (
            "Dossier introuvable par la recherche",
            "Je cherche une déclaration de naissance faite la semaine dernière, la recherche ne trouve rien avec le nom de l'enfant.",
            "declarations", "normal", "email", ("Agent d'état civil Ngono", "agent.ngono@example.org"),
            [("reply", "Bonjour, les brouillons ne sont pas trouvés par la recherche, et la recherche se limite à votre circonscription. Pouvez-vous nous donner le numéro de suivi ?"), ("status", "waiting")],
        ),
        (
            "Jumeaux signalés comme doublon",
            "Deux naissances de jumeaux sont signalées comme doublon possible. Comment valider les deux ?",
            "validation-and-registration", "high", "web", "agent",
            [("note", "Voir l'article sur les doublons ; vérifier les heures de naissance.")],
        ),
        (
            "Frais de déclaration tardive",
            "Quel est le montant à payer pour une naissance déclarée après le délai ?",
            "declarations", "low", "whatsapp", ("Agent de santé Abena", "+237 6 55 50 09 09"),
            [],
        ),
    ],
}

DEMO_CANNED = {
    "en": (
        "Verification code not received",
        "The verification code is sent by {{ country.notification_method }} and is valid for {{ registration.verification_code_minutes }} minutes. "
        "Please check the phone number and email address in your profile and try again after two minutes. If it still does not arrive, reply here or write on WhatsApp at {{ support.whatsapp }}.",
    ),
    "fr": (
        "Code de vérification non reçu",
        "Le code de vérification est envoyé par {{ country.notification_method }} et reste valable {{ registration.verification_code_minutes }} minutes. "
        "Vérifiez le numéro de téléphone et l'adresse e-mail de votre profil et réessayez dans deux minutes. Sinon, répondez ici ou écrivez-nous sur WhatsApp au {{ support.whatsapp }}.",
    ),
}


def _requester(tenant: Tenant, who, locale: str):
    if who == "agent":
        user = get_user_by_email(f"agent@{tenant.slug}.demo")
        return services.find_or_create_contact(tenant, user=user, locale=locale), user
    name, address = who
    if "@" in address:
        return services.find_or_create_contact(tenant, email=address, name=name, locale=locale), None
    return services.find_or_create_contact(tenant, phone=address, whatsapp_id=address.replace(" ", "").lstrip("+"), name=name, locale=locale), None


def load_demo_tickets(tenant: Tenant) -> int:
    """A handful of realistic tickets in the tenant's languages; nothing if it has tickets already."""
    with tenant_scope(db.session, tenant.id):
        if db.session.scalar(select(func.count(Ticket.id))):
            return 0
        services.ensure_categories(tenant)
        agent = get_user_by_email(f"l1@{tenant.slug}.demo")
        count = 0
        for locale in tenant.locales:
            for subject, body, category, priority, channel, who, steps in DEMO_TICKETS.get(locale, []):
                contact, user = _requester(tenant, who, locale)
                ticket = services.open_ticket(
                    tenant, user, requester=contact, subject=subject, body=body, category=category,
                    priority=priority, channel=channel, locale=locale, office=(tenant.settings.registration.offices or [""])[0],
                )
                for step in steps:
                    if step[0] in ("reply", "note") and agent is not None:
                        services.add_message(tenant, agent, ticket, body=step[1], public=step[0] == "reply")
                    elif step[0] == "status":
                        services.change_status(tenant, agent, ticket, step[1], notify=False)
                    elif step[0] == "rate" and user is not None:
                        services.rate_ticket(tenant, user, ticket, step[1], step[2])
                count += 1
        for locale in tenant.locales:
            if locale in DEMO_CANNED and not db.session.scalar(select(CannedResponse.id).where(CannedResponse.locale == locale)):
                title, text = DEMO_CANNED[locale]
                services.save_canned(tenant, agent, title=title, locale=locale, body=text)
        return count
