"""The landing page listing country portals, each country's support home page, and its settings page."""
from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, Flask, flash, g, redirect, render_template, request, url_for
from flask_babel import format_decimal, ngettext
from flask_babel import gettext as _
from flask_login import current_user

from portal.auth.loaders import require
from portal.auth.permissions import Permission
from portal.core.errors import error_response
from portal.core.i18n import current_locale, locale_name
from portal.core.templating import format_date
from portal.extensions import limiter
from portal.tenancy import services
from portal.tenancy.forms import ON_BREACH, PRIORITY_NAMES, SECTION_FORMS, ResetForm, SettingsForm, label, language_name, section_form
from portal.tenancy.overrides import SECTIONS, get_path
from portal.tenancy.services import list_tenants
from portal.tenancy.settings import WEEKDAYS, day_name

bp = Blueprint("tenancy", __name__, template_folder="templates")


def register(app: Flask) -> None:
    app.register_blueprint(bp)


@bp.get("/")
def landing():
    return render_template("tenancy/landing.html", tenants=list_tenants())


@bp.get("/health")
@limiter.exempt
def health():
    return {"status": "ok"}


@bp.get("/<tenant>/")
def home():
    tenant = g.tenant
    settings = tenant.settings
    locale = current_locale()
    whatsapp = settings.support.whatsapp
    contacts = {
        "email": settings.support.email,
        "whatsapp": whatsapp,
        "phone": settings.support.phone,
        "hours": settings.hours(locale),
        "telegram": settings.channels.telegram.bot_username if settings.channels.telegram else None,
    }
    return render_template("tenancy/home.html", contacts=contacts, settings=settings)


# -- the country's settings (tenant administrators) -------------------------------------------------


@bp.route("/<tenant>/settings", methods=["GET", "POST"])
@require(Permission.TENANT_MANAGE)
def country_settings():
    """The settings an administrator may change over the country's file, one form per section
    (the form's `section` says which was sent), the file's other settings, and the history."""
    if request.method == "GET":
        return _settings_page()
    section = request.form.get("section", "")
    if section not in SECTIONS:
        return error_response(400)
    tenant = g.tenant
    form = section_form(section, tenant.settings, current_locale())
    if not form.validate_on_submit():
        return _settings_page(form, message=_("Some values are not accepted: see the messages next to them."), status=400)
    try:
        changes = services.save_settings(tenant, current_user, form.values(), form.version.data or "")
    except services.SettingsError as exc:
        for path, messages in exc.errors.items():
            fields = form.fields_of(path)
            if fields:
                fields[0].errors = [*fields[0].errors, *messages]
        if exc.status == 409:
            # What was typed stays; saved again, it goes over the other change, which the page now shows.
            form.version.data = tenant.row_version
        return _settings_page(form, message=exc.message, status=exc.status)
    if changes:
        flash(ngettext("%(num)s setting changed.", "%(num)s settings changed.", len(changes)), "success")
    else:
        flash(_("Nothing changed."), "info")
    return redirect(url_for("tenancy.country_settings", _anchor=section))


@bp.post("/<tenant>/settings/reset")
@require(Permission.TENANT_MANAGE)
def reset_setting():
    """Put one setting changed in the portal back to the value of the country's file."""
    form = ResetForm()
    if not form.validate_on_submit() or not form.key.data:
        return error_response(400)
    try:
        services.reset_setting(g.tenant, current_user, form.key.data, form.version.data or "")
    except services.SettingsError as exc:
        return _settings_page(message=exc.message, status=exc.status)
    flash(_("“%(setting)s” has the value of the configuration file again.", setting=label(form.key.data)), "success")
    return redirect(url_for("tenancy.country_settings", _anchor="changed"))


def _settings_page(submitted: SettingsForm | None = None, message: str | None = None, status: int = 200):
    tenant = g.tenant
    settings = tenant.settings
    locale = current_locale()
    version = tenant.row_version
    forms = {}
    for section in SECTIONS:
        if submitted is not None and submitted.SECTION == section:
            forms[section] = submitted
        else:
            forms[section] = section_form(section, settings, locale, version=version)
    current = settings.model_dump(mode="json")
    overridden = [
        {"key": path, "label": label(path), "value": _shown(path, get_path(current, path)),
         "file": _shown(path, get_path(tenant.config, path))}
        for path in tenant.overridden
    ]
    ignored = [{"key": path, "label": label(path)} for path in tenant.ignored_overrides]
    history = [
        {"change": change, "label": _history_label(settings, change.key, locale), "old": _shown(change.key, change.old_value),
         "new": _shown(change.key, change.new_value)}
        for change in services.setting_changes(tenant)
    ]
    return render_template(
        "tenancy/settings.html",
        settings=settings,
        version=version,
        forms=forms,
        section=submitted.SECTION if submitted is not None else None,
        message=message,
        saved_now=_saved_now(submitted, settings) if status == 409 and submitted is not None else {},
        overridden=overridden,
        changed={item["key"]: item["file"] for item in overridden},
        ignored=ignored,
        history=history,
        locale_names={code: locale_name(code) for code in [*settings.locales, settings.default_locale]},
        priorities=[(priority, str(name)) for priority, name in PRIORITY_NAMES.items()],
    ), status


def _saved_now(form: SettingsForm, settings) -> dict[str, str]:
    """For a form refused because the settings changed meanwhile: the value now saved of each
    field where it differs from what was typed."""
    now = SECTION_FORMS[form.SECTION].initial(settings)
    saved = {}
    for name, value in now.items():
        typed = form[name].data
        if isinstance(value, bool):
            differs = bool(typed) != value
        elif isinstance(value, list):
            differs = sorted(typed or []) != sorted(value)
        else:
            differs = (typed or "").strip() != (value or "").strip()
        if differs:
            saved[name] = value if isinstance(value, str) and value else _shown(form.PATHS.get(name, ""), value)
    return saved


def _history_label(settings, path: str, locale: str) -> str:
    """What a change of the history is of: a setting, or the members of a support group (Tiers page)."""
    prefix, _dot, rest = path.partition("tiers.groups.")
    if not prefix and rest.endswith(".members"):
        key = rest.removesuffix(".members")
        group = settings.tiers.groups.get(key)
        return _("Members of the group %(group)s", group=(settings.localize(group.name, locale) if group else "") or key)
    return label(path)


def _shown(path: str, value: Any) -> str:
    """A setting's value as the page shows it, in the reader's language."""
    if value is None or value == "" or value == []:
        return _("(none)")
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if path == "support.business_hours.days":
        return ", ".join(day_name(day, current_locale()) if day in WEEKDAYS else str(day) for day in value)
    if path == "support.business_hours.holidays":
        return ", ".join(_shown_date(day) for day in value)
    if path in ("support.business_hours.start", "support.business_hours.end") and isinstance(value, str):
        return value[:5]
    if path == "sla.on_breach":
        return str(ON_BREACH.get(value, value))
    if isinstance(value, (int, float)):
        return format_decimal(value, "#,##0.##")
    if isinstance(value, dict):  # a text per locale
        return "; ".join(f"{language_name(code)}: {text or _('(none)')}" for code, text in value.items())
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return str(value)


def _shown_date(value: str) -> str:
    try:
        return format_date(dt.date.fromisoformat(value))
    except (TypeError, ValueError):
        return str(value)
