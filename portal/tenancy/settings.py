"""The schema of `tenants/<slug>/tenant.toml`, validated with pydantic.

Values meant for readers (support hours, say) may be written once or per locale:
`hours = "Mon-Fri 8-17"` or `hours = { en = "Mon-Fri 8-17", fr = "lun.-ven. 8 h-17 h" }`.
Secrets are never written here: a key such as `app_secret_env` names the environment variable
that holds the secret.
"""
from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from typing import Annotated, Any, Literal

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, get_day_names
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    NonNegativeFloat,
    PositiveFloat,
    PositiveInt,
    StringConstraints,
    field_validator,
    model_validator,
)

from portal.core.i18n import date_pattern

SLUG_RE = re.compile(r"^[a-z][a-z0-9-]{1,39}$")
# Path segments that the portal uses outside tenants: a tenant may not take them.
RESERVED_SLUGS = frozenset(
    {"api", "expert", "static", "auth", "login", "logout", "admin", "health", "language", "assets", "favicon.ico"}
)
ENV_NAME_RE = re.compile(r"^[A-Z][A-Z0-9_]*$")
SECRET_WORDS = ("secret", "token", "password", "passwd", "api_key", "apikey")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
PRIORITIES = ("urgent", "high", "normal", "low")


def _check_locale(code: str) -> str:
    try:
        Locale.parse(code)
    except (UnknownLocaleError, ValueError):
        raise ValueError(f"'{code}' is not a known locale code") from None
    return code


LocaleCode = Annotated[str, AfterValidator(_check_locale)]
EnvName = Annotated[str, Field(pattern=ENV_NAME_RE.pattern)]
Localized = str | dict[str, str]


class _Table(BaseModel):
    """A table that may carry more keys than the portal knows: all of them are placeholders."""

    model_config = ConfigDict(extra="allow", str_strip_whitespace=True)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Country(_Table):
    name: str = Field(min_length=1)
    code: str = Field(pattern=r"^[A-Z]{2,5}$", description="ticket reference prefix")
    application_name: str = "OpenCRVS"
    portal_url: str = ""
    currency: str = ""
    notification_method: Localized = "SMS"


class BusinessHours(_Strict):
    start: dt.time = dt.time(8, 0)
    end: dt.time = dt.time(17, 0)
    days: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = ["mon", "tue", "wed", "thu", "fri"]
    holidays: list[dt.date] = []

    @model_validator(mode="after")
    def _ordered(self) -> "BusinessHours":
        if self.end <= self.start:
            raise ValueError("end must be after start")
        if not self.days:
            raise ValueError("at least one working day is needed")
        return self


class Support(_Table):
    email: EmailStr
    whatsapp: str | None = None
    phone: str | None = None
    hours: Localized = ""
    business_hours: BusinessHours = BusinessHours()


class Fees(_Table):
    birth_on_time: NonNegativeFloat = 0
    birth_late: NonNegativeFloat = 0
    birth_delayed: NonNegativeFloat = 0
    death_on_time: NonNegativeFloat = 0
    death_late: NonNegativeFloat = 0
    death_delayed: NonNegativeFloat = 0
    certificate_copy: NonNegativeFloat = 0


class Registration(_Table):
    birth_deadline_days: PositiveInt
    birth_late_deadline_days: PositiveInt
    death_deadline_days: PositiveInt
    death_late_deadline_days: PositiveInt | None = None
    verification_code_minutes: PositiveInt = 10
    login_lock_minutes: PositiveInt = 1
    fees: Fees = Fees()
    offices: list[str] = []

    @model_validator(mode="after")
    def _late_after_on_time(self) -> "Registration":
        if self.birth_late_deadline_days < self.birth_deadline_days:
            raise ValueError("birth_late_deadline_days must not be shorter than birth_deadline_days")
        return self


class TierGroup(_Strict):
    tier: Literal["L1", "L2"]
    name: Localized = ""
    members: list[EmailStr] = []


class Tiers(_Strict):
    assignment: Literal["round_robin", "least_loaded", "manual"] = "round_robin"
    groups: dict[str, TierGroup] = {}
    routing: dict[str, str] = {}

    @model_validator(mode="after")
    def _routes_to_known_groups(self) -> "Tiers":
        for category, group in self.routing.items():
            if group not in self.groups:
                raise ValueError(f"routing for '{category}' names unknown group '{group}'")
        return self


class SlaTarget(_Strict):
    first_response_hours: PositiveFloat
    resolution_hours: PositiveFloat


class Sla(_Strict):
    urgent: SlaTarget = SlaTarget(first_response_hours=1, resolution_hours=8)
    high: SlaTarget = SlaTarget(first_response_hours=4, resolution_hours=24)
    normal: SlaTarget = SlaTarget(first_response_hours=8, resolution_hours=40)
    low: SlaTarget = SlaTarget(first_response_hours=16, resolution_hours=80)
    on_breach: Literal["notify", "escalate"] = "notify"


class _Channel(_Strict):
    enabled: bool = True

    @model_validator(mode="before")
    @classmethod
    def _no_inline_secrets(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key in data:
                if any(word in key.lower() for word in SECRET_WORDS) and not key.endswith("_env"):
                    raise ValueError(
                        f"'{key}' looks like a secret: name an environment variable with '{key}_env' instead"
                    )
        return data


class EmailChannel(_Channel):
    address: EmailStr
    smtp_host: str | None = None
    smtp_port: PositiveInt = 25
    smtp_starttls: bool = False
    smtp_username_env: EnvName | None = None
    smtp_password_env: EnvName | None = None
    imap_host: str | None = None
    imap_port: PositiveInt = 993
    imap_ssl: bool | None = None  # None: TLS from the first byte, except on port 143
    imap_username_env: EnvName | None = None
    imap_password_env: EnvName | None = None
    imap_folder: str = "INBOX"
    imap_move_to: str | None = None  # once stored, move the message to this folder (else it is only marked seen)


class WhatsAppChannel(_Channel):
    phone_number_id: str = Field(min_length=1)
    display_number: str = ""
    verify_token_env: EnvName
    app_secret_env: EnvName
    access_token_env: EnvName
    graph_base: str = "https://graph.facebook.com/v21.0"
    # The approved template (one body parameter: the reply) used outside the 24-hour window.
    reply_template: str = "support_reply"


class TelegramChannel(_Channel):
    bot_username: str = ""
    secret_token_env: EnvName
    bot_token_env: EnvName
    api_base: str = "https://api.telegram.org"


class Channels(_Strict):
    email: EmailChannel | None = None
    whatsapp: WhatsAppChannel | None = None
    telegram: TelegramChannel | None = None


# A word or phrase of a country's own vocabulary ("acte", "officier d'état civil"), as its staff type it.
SynonymPhrase = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60,
                                                 pattern=r"^[^:\n]+$")]


class Assistant(_Strict):
    enabled: bool = True
    threshold: float = Field(default=0.35, ge=0, le=1)
    # Per locale, groups of words and phrases that mean the same in this country although the articles
    # use only some of them ("acte" for "certificat"): the assistant reads each group as one idea.
    synonyms: dict[LocaleCode, Annotated[list[Annotated[list[SynonymPhrase], Field(min_length=2, max_length=20)]],
                                         Field(max_length=500)]] = Field(default_factory=dict)


class Privacy(_Strict):
    share_contact_with_l3: bool = False


# The form of an OpenCRVS version in a tenant's settings (a deployment may only report one like it).
OPENCRVS_VERSION_PATTERN = r"^v?\d+\.\d+(\.\d+)?([-+][0-9A-Za-z.-]+)?$"


class TenantSettings(_Strict):
    slug: str
    name: str = Field(min_length=1)
    locales: list[LocaleCode] = Field(min_length=1)
    default_locale: LocaleCode
    timezone: str
    opencrvs_version: str = Field(pattern=OPENCRVS_VERSION_PATTERN)
    country: Country
    support: Support
    registration: Registration
    tiers: Tiers = Tiers()
    sla: Sla = Sla()
    channels: Channels = Channels()
    assistant: Assistant = Assistant()
    privacy: Privacy = Privacy()

    @field_validator("slug")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not SLUG_RE.match(value):
            raise ValueError("must be 2-40 lowercase letters, digits or hyphens, starting with a letter")
        if value in RESERVED_SLUGS:
            raise ValueError(f"'{value}' is reserved by the portal")
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"'{value}' is not a known time zone") from None
        return value

    @field_validator("locales")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("a locale is listed twice")
        return value

    @model_validator(mode="after")
    def _default_in_locales(self) -> "TenantSettings":
        if self.default_locale not in self.locales:
            raise ValueError("default_locale must be one of locales")
        strangers = sorted(set(self.assistant.synonyms) - set(self.locales))
        if strangers:
            raise ValueError(f"assistant.synonyms: {', '.join(strangers)} is not one of locales")
        return self

    # -- reading values -------------------------------------------------------------------------

    def localize(self, value: Any, locale: str) -> Any:
        """Pick the `locale` entry of a per-locale value, falling back to the tenant default."""
        if isinstance(value, dict) and value and set(value) <= set(self.locales):
            return value.get(locale) or value.get(self.default_locale) or next(iter(value.values()))
        if isinstance(value, dict):
            return {k: self.localize(v, locale) for k, v in value.items()}
        if isinstance(value, list):
            return [self.localize(v, locale) for v in value]
        return value

    def placeholder_values(self, locale: str) -> dict[str, Any]:
        """The values that support material may cite, as plain data in `locale`."""
        data = self.model_dump(mode="json", include={"country", "support", "registration", "sla"})
        data = self.localize(data, locale)
        hours = self.support.business_hours  # as a reader writes them, not as the file stores them
        data["support"]["business_hours"].update(
            start=hours.start.strftime("%H:%M"), end=hours.end.strftime("%H:%M"),
            days=[_day_name(day, locale) for day in hours.days],
            holidays=[format_date(day, date_pattern(locale), locale=_babel_locale(locale)) for day in hours.holidays])
        data["tenant"] = {"name": self.name, "slug": self.slug, "opencrvs_version": self.opencrvs_version}
        return data

    def hours(self, locale: str) -> str:
        return self.localize(self.support.hours, locale)

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)


_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _babel_locale(locale: str) -> Locale:
    try:
        return Locale.parse(locale)
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en")


def _day_name(day: str, locale: str) -> str:
    """"mon" as the reader's language names Monday ("lundi")."""
    return get_day_names("wide", locale=_babel_locale(locale))[_DAYS.index(day)]
