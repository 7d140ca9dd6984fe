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
    PlainValidator,
    PositiveFloat,
    PositiveInt,
    StringConstraints,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

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


def _localized(value: Any) -> str | dict[str, str]:
    # One message for both forms (pydantic would report the union's two members, by their internal names).
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, dict) and value and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        return {k: v.strip() for k, v in value.items()}
    raise ValueError('must be a text, or one text per locale: { en = "...", fr = "..." }')


# A text for readers: one string, or one per locale (the keys must be among the tenant's locales;
# a locale without its own text gets the default locale's).
Localized = Annotated[str | dict[str, str], PlainValidator(_localized)]


def key_error(key: str, reason: str) -> PydanticCustomError:
    """An error about `key` of the table being checked: without it pydantic reports a check that
    compares keys on the table itself. `read_tenant_file` adds the key to the error's location."""
    return PydanticCustomError("tenant_key", "{reason}", {"key": key, "reason": reason})


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
            raise key_error("birth_late_deadline_days", "must not be shorter than birth_deadline_days")
        if self.death_late_deadline_days is not None and self.death_late_deadline_days < self.death_deadline_days:
            raise key_error("death_late_deadline_days", "must not be shorter than death_deadline_days")
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
                raise key_error(f"routing.{category}", f"'{group}' is not one of the groups in [tiers.groups]")
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
                    raise key_error(key, f"looks like a secret: name an environment variable with '{key}_env' instead")
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
    # A fictional demo country (Farajaland, Kalondo): `demo load` fills only these, never a real one.
    demo: bool = False
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

    def key_problems(self) -> list[tuple[str, str]]:
        """(key, reason) of each value that does not agree with another key (a text in a language
        that `locales` does not offer, say). `tenants sync` refuses a file with any; they are not
        checked when a tenant's stored settings are read, so that a row synced by an older release
        still serves its pages."""
        problems = []

        def outside_locales(key: str, codes) -> None:
            for code in sorted(set(codes) - set(self.locales)):
                problems.append((key, f"'{code}' is not one of locales {self.locales}"))

        outside_locales("default_locale", [self.default_locale])
        for key, value in self._per_locale_texts():
            if isinstance(value, dict):
                outside_locales(key, value)
        outside_locales("assistant.synonyms", self.assistant.synonyms)
        return problems

    def _per_locale_texts(self):
        """(key, {locale: text}) of every text given per locale, including keys a country added."""
        for key in ("country.notification_method", "support.hours"):
            table, name = key.split(".")
            yield key, getattr(getattr(self, table), name)
        for group_key, group in self.tiers.groups.items():
            yield f"tiers.groups.{group_key}.name", group.name
        for table in ("country", "support", "registration"):
            for name, value in (getattr(self, table).model_extra or {}).items():
                if _looks_per_locale(value):
                    yield f"{table}.{name}", value

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
            days=[day_name(day, locale) for day in hours.days],
            holidays=[format_date(day, date_pattern(locale), locale=_babel_locale(locale)) for day in hours.holidays])
        data["tenant"] = {"name": self.name, "slug": self.slug, "opencrvs_version": self.opencrvs_version}
        return data

    def hours(self, locale: str) -> str:
        return self.localize(self.support.hours, locale)

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)


_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_LOCALE_KEY_RE = re.compile(r"^[a-z]{2,3}([_-][A-Za-z0-9]{2,8})*$")


def _looks_per_locale(value: Any) -> bool:
    """Whether a key a country added (`motto = { en = "...", fr = "..." }`) is a text per locale: a
    table of texts whose keys are all locale codes (a table such as `fees` has other keys)."""
    if not isinstance(value, dict) or not value:
        return False
    for key, text in value.items():
        if not isinstance(text, str) or not _LOCALE_KEY_RE.match(key):
            return False
        try:
            Locale.parse(key)
        except (UnknownLocaleError, ValueError):
            return False
    return True


def _babel_locale(locale: str) -> Locale:
    try:
        return Locale.parse(locale)
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en")


def day_name(day: str, locale: str) -> str:
    """"mon" as the reader's language names Monday ("lundi")."""
    return get_day_names("wide", locale=_babel_locale(locale))[_DAYS.index(day)]
