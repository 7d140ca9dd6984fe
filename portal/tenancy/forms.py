"""The forms of the country settings page, one per section.

Their fields only carry text (with a length limit) and the CSRF token: the values are checked by the
same pydantic model as tenant.toml (`portal.tenancy.services.save_settings`), whose errors the view
puts back on the fields. `PATHS` names the settings key of each field.
"""
from __future__ import annotations

from typing import Any

from babel import Locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, SelectField, SelectMultipleField, StringField, SubmitField, TextAreaField
from wtforms.validators import Length
from wtforms.widgets import CheckboxInput

from portal.core.i18n import current_locale
from portal.tenancy.settings import PRIORITIES, WEEKDAYS, TenantSettings, day_name

PRIORITY_NAMES = {"urgent": _l("Urgent"), "high": _l("High"), "normal": _l("Normal"), "low": _l("Low")}
ON_BREACH = {"notify": _l("Notify the people responsible"), "escalate": _l("Escalate the ticket to Level 2")}
FEE_NAMES = {
    "birth_on_time": _l("Birth registration on time"),
    "birth_late": _l("Late birth registration"),
    "birth_delayed": _l("Delayed birth registration"),
    "death_on_time": _l("Death registration on time"),
    "death_late": _l("Late death registration"),
    "death_delayed": _l("Delayed death registration"),
    "certificate_copy": _l("Copy of a certificate"),
}

# What each key is called on the page and in its history.
LABELS: dict[str, Any] = {
    "support.email": _l("Support email"),
    "support.whatsapp": _l("WhatsApp number"),
    "support.phone": _l("Phone number"),
    "support.hours": _l("Opening hours (text shown to users)"),
    "support.business_hours.start": _l("Opening time"),
    "support.business_hours.end": _l("Closing time"),
    "support.business_hours.days": _l("Working days"),
    "support.business_hours.holidays": _l("Holidays"),
    **{f"sla.{p}.first_response_hours": _l("%(priority)s: first reply within (hours)", priority=name) for p, name in PRIORITY_NAMES.items()},
    **{f"sla.{p}.resolution_hours": _l("%(priority)s: resolution within (hours)", priority=name) for p, name in PRIORITY_NAMES.items()},
    "sla.on_breach": _l("When a target is missed"),
    "assistant.enabled": _l("The assistant answers questions"),
    "assistant.threshold": _l("Confidence threshold of the assistant"),
    "registration.birth_deadline_days": _l("Birth registration deadline (days)"),
    "registration.birth_late_deadline_days": _l("Late birth registration deadline (days)"),
    "registration.death_deadline_days": _l("Death registration deadline (days)"),
    "registration.death_late_deadline_days": _l("Late death registration deadline (days)"),
    "registration.verification_code_minutes": _l("A verification code is valid for (minutes)"),
    "registration.login_lock_minutes": _l("Sign-in locked after failed attempts for (minutes)"),
    **{f"registration.fees.{key}": _l("Fee: %(fee)s", fee=name) for key, name in FEE_NAMES.items()},
    "registration.offices": _l("Offices"),
}


def label(path: str) -> str:
    """The name of a settings key; the key of one language's text (`support.hours.fr`) names the language."""
    if path in LABELS:
        return str(LABELS[path])
    parent, _dot, code = path.rpartition(".")
    if parent == "support.hours":
        return str(_hours_label(code))
    return path


def _hours_label(code: str):
    return _l("Opening hours in %(language)s", language=language_name(code))


def language_name(code: str) -> str:
    """A language's name in the reader's language ("French", "français")."""
    try:
        return Locale.parse(code).get_display_name(current_locale()) or code
    except Exception:  # noqa: BLE001  (an unknown code still gets a label)
        return code


NUMBER = {"inputmode": "decimal", "autocomplete": "off"}
WHOLE = {"inputmode": "numeric", "autocomplete": "off"}


def _lines(text: str | None) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def _number(text: str | None) -> str:
    # A decimal comma is how French (and many others) write 0,5: read it as a point.
    return (text or "").strip().replace(",", ".")


def plain_number(value: float | int | None) -> str:
    """A number as the form shows it for editing: "8", "0.35" (no needless decimals, no grouping)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return ("%.6f" % value).rstrip("0").rstrip(".") if isinstance(value, float) else str(value)


class SettingsForm(FlaskForm):
    """One section of the page. Each has `values()`, the settings keys of the section with what was
    typed (as the settings model reads them), and `initial(settings)`, its fields' data for the
    settings in force. `version` is the tenant row's version when the page was made."""

    SECTION = ""
    PATHS: dict[str, str] = {}
    version = HiddenField()

    def fields_of(self, path: str) -> list:
        return [self[name] for name, field_path in self.PATHS.items() if field_path == path]


class ContactsForm(SettingsForm):
    SECTION = "contacts"
    email = StringField(LABELS["support.email"], validators=[Length(max=254)], render_kw={"type": "email", "autocomplete": "off"},
                        description=_l("Shown to users. The mailbox the support desk reads (channels) is set in the configuration file."))
    whatsapp = StringField(LABELS["support.whatsapp"], validators=[Length(max=40)], render_kw={"type": "tel", "autocomplete": "off"},
                           description=_l("With the country code, as +260 97 555 0100. Leave empty if there is none."))
    phone = StringField(LABELS["support.phone"], validators=[Length(max=40)], render_kw={"type": "tel", "autocomplete": "off"},
                        description=_l("Leave empty if there is none."))
    submit = SubmitField(_l("Save the contacts"))
    locales: list[str] = []

    def values(self) -> dict[str, Any]:
        hours = {code: (self[_hours_field(code)].data or "").strip() for code in self.locales}
        return {
            "support.email": (self.email.data or "").strip(),
            "support.whatsapp": (self.whatsapp.data or "").strip() or None,
            "support.phone": (self.phone.data or "").strip() or None,
            # Every language's text, empty ones included: an empty one shows the default language's.
            "support.hours": hours if any(hours.values()) else "",
        }

    @classmethod
    def initial(cls, settings: TenantSettings) -> dict[str, Any]:
        support = settings.support
        hours = support.hours
        return {
            "email": support.email,
            "whatsapp": support.whatsapp or "",
            "phone": support.phone or "",
            **{_hours_field(code): hours if isinstance(hours, str) else hours.get(code, "") for code in settings.locales},
        }


def _hours_field(code: str) -> str:
    return "hours_" + "".join(c if c.isalnum() else "_" for c in code)


def contacts_form(locales: list[str], default_locale: str, **kwargs) -> ContactsForm:
    """The contacts form of a country: one opening-hours text per language it offers."""
    fields: dict[str, Any] = {"locales": list(locales), "PATHS": {"email": "support.email", "whatsapp": "support.whatsapp", "phone": "support.phone"}}
    for code in locales:
        description = None if code == default_locale else _l("Left empty, the text in %(language)s is shown.", language=language_name(default_locale))
        fields[_hours_field(code)] = TextAreaField(_hours_label(code), validators=[Length(max=500)],
                                                   description=description, render_kw={"lang": code, "rows": 2})
        fields["PATHS"][_hours_field(code)] = "support.hours"
    form_class = type("CountryContactsForm", (ContactsForm,), fields)
    return form_class(prefix="contacts", **kwargs)


class BusinessHoursForm(SettingsForm):
    SECTION = "business_hours"
    PATHS = {"start": "support.business_hours.start", "end": "support.business_hours.end",
             "days": "support.business_hours.days", "holidays": "support.business_hours.holidays"}
    start = StringField(LABELS["support.business_hours.start"], validators=[Length(max=8)], description=_l("On the 24-hour clock, as 08:00."),
                        render_kw={"autocomplete": "off"})
    end = StringField(LABELS["support.business_hours.end"], validators=[Length(max=8)], description=_l("On the 24-hour clock, as 17:00."),
                      render_kw={"autocomplete": "off"})
    # The choices' names are the reader's language's (set by the view); any value is passed on to the settings' check.
    days = SelectMultipleField(LABELS["support.business_hours.days"], option_widget=CheckboxInput(), validate_choice=False)
    holidays = TextAreaField(LABELS["support.business_hours.holidays"], validators=[Length(max=20_000)],
                             description=_l("One date per line, as 2026-12-25. Service level targets are not counted on these days."),
                             render_kw={"rows": 5, "autocomplete": "off"})
    submit = SubmitField(_l("Save the business hours"))

    def values(self) -> dict[str, Any]:
        return {
            "support.business_hours.start": (self.start.data or "").strip(),
            "support.business_hours.end": (self.end.data or "").strip(),
            "support.business_hours.days": [day for day in WEEKDAYS if day in (self.days.data or [])]
                                            + [day for day in (self.days.data or []) if day not in WEEKDAYS],
            "support.business_hours.holidays": _lines(self.holidays.data),
        }

    @classmethod
    def initial(cls, settings: TenantSettings) -> dict[str, Any]:
        hours = settings.support.business_hours
        return {"start": hours.start.strftime("%H:%M"), "end": hours.end.strftime("%H:%M"), "days": list(hours.days),
                "holidays": "\n".join(day.isoformat() for day in hours.holidays)}


def business_hours_form(locale: str, **kwargs) -> BusinessHoursForm:
    form = BusinessHoursForm(prefix="business_hours", **kwargs)
    form.days.choices = [(day, day_name(day, locale)) for day in WEEKDAYS]
    return form


class SlaForm(SettingsForm):
    SECTION = "sla"
    PATHS = {**{f"{p}_{k}": f"sla.{p}.{k}" for p in PRIORITIES for k in ("first_response_hours", "resolution_hours")}, "on_breach": "sla.on_breach"}
    on_breach = SelectField(LABELS["sla.on_breach"], choices=lambda: list(ON_BREACH.items()), validate_choice=False)
    submit = SubmitField(_l("Save the service levels"))

    def values(self) -> dict[str, Any]:
        values = {path: _number(self[name].data) for name, path in self.PATHS.items() if name != "on_breach"}
        return values | {"sla.on_breach": self.on_breach.data or ""}

    @classmethod
    def initial(cls, settings: TenantSettings) -> dict[str, Any]:
        data = {f"{p}_{k}": plain_number(getattr(getattr(settings.sla, p), k)) for p in PRIORITIES for k in ("first_response_hours", "resolution_hours")}
        return data | {"on_breach": settings.sla.on_breach}


# Two fields per priority, shown under the priority's name (WTForms takes fields added to a form class).
_SLA_FIELD_LABELS = {"first_response_hours": _l("First reply within (hours)"), "resolution_hours": _l("Resolution within (hours)")}
for _priority in PRIORITIES:
    for _key, _label in _SLA_FIELD_LABELS.items():
        setattr(SlaForm, f"{_priority}_{_key}", StringField(_label, validators=[Length(max=20)], render_kw=NUMBER))


class AssistantForm(SettingsForm):
    SECTION = "assistant"
    PATHS = {"enabled": "assistant.enabled", "threshold": "assistant.threshold"}
    enabled = BooleanField(LABELS["assistant.enabled"])
    threshold = StringField(LABELS["assistant.threshold"], validators=[Length(max=20)], render_kw=NUMBER,
                            description=_l("From 0 to 1. Below this confidence the assistant offers to pass the question to a person instead of answering; higher means fewer but surer answers."))
    submit = SubmitField(_l("Save the assistant settings"))

    def values(self) -> dict[str, Any]:
        return {"assistant.enabled": bool(self.enabled.data), "assistant.threshold": _number(self.threshold.data)}

    @classmethod
    def initial(cls, settings: TenantSettings) -> dict[str, Any]:
        return {"enabled": settings.assistant.enabled, "threshold": plain_number(settings.assistant.threshold)}


_WHOLE_NUMBERS = ("birth_deadline_days", "birth_late_deadline_days", "death_deadline_days", "death_late_deadline_days",
                  "verification_code_minutes", "login_lock_minutes")


class RegistrationForm(SettingsForm):
    SECTION = "registration"
    PATHS = {**{key: f"registration.{key}" for key in _WHOLE_NUMBERS}, **{f"fee_{key}": f"registration.fees.{key}" for key in FEE_NAMES},
             "offices": "registration.offices"}
    offices = TextAreaField(LABELS["registration.offices"], validators=[Length(max=20_000)],
                            description=_l("One office per line. Members and requests may name one of them."), render_kw={"rows": 8})
    submit = SubmitField(_l("Save the registration settings"))

    def values(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name, path in self.PATHS.items():
            if name == "offices":
                offices = _lines(self.offices.data)
                values[path] = list(dict.fromkeys(offices))  # each once, in the order typed
            else:
                values[path] = _number(self[name].data)
        if values["registration.death_late_deadline_days"] == "":
            values["registration.death_late_deadline_days"] = None
        return values

    @classmethod
    def initial(cls, settings: TenantSettings) -> dict[str, Any]:
        registration = settings.registration
        data = {key: plain_number(getattr(registration, key)) for key in _WHOLE_NUMBERS}
        data |= {f"fee_{key}": plain_number(getattr(registration.fees, key)) for key in FEE_NAMES}
        return data | {"offices": "\n".join(registration.offices)}


for _key in _WHOLE_NUMBERS:
    setattr(RegistrationForm, _key, StringField(LABELS[f"registration.{_key}"], validators=[Length(max=20)], render_kw=WHOLE,
                                                description=_l("Leave empty if there is none.") if _key == "death_late_deadline_days" else None))
for _key in FEE_NAMES:
    setattr(RegistrationForm, f"fee_{_key}", StringField(FEE_NAMES[_key], validators=[Length(max=20)], render_kw=NUMBER))


SECTION_FORMS = {"contacts": ContactsForm, "business_hours": BusinessHoursForm, "sla": SlaForm, "assistant": AssistantForm,
                 "registration": RegistrationForm}


def section_form(section: str, settings: TenantSettings, locale: str, version: str | None = None) -> SettingsForm:
    """The form of `section`: with the values of `settings` and the tenant's `version` when given,
    else with what the request sent."""
    kwargs: dict[str, Any] = {}
    if version is not None:
        kwargs = {"formdata": None, "data": SECTION_FORMS[section].initial(settings) | {"version": version}}
    if section == "contacts":
        return contacts_form(settings.locales, settings.default_locale, **kwargs)
    if section == "business_hours":
        return business_hours_form(locale, **kwargs)
    return SECTION_FORMS[section](prefix=section, **kwargs)


class ResetForm(FlaskForm):
    """Put one key back to the value of the country's file (the page writes one such form per key)."""

    key = HiddenField(validators=[Length(max=200)])
    version = HiddenField(validators=[Length(max=64)])
