from flask import current_app
from flask_babel import LazyString, gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, MultipleFileField, RadioField, SelectField, SelectMultipleField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput

from portal.tickets.models import HAND_PICKED_STATUSES, Priority

# Choices are given as callables: wtforms warns about static lists of tuples.


def _files_hint() -> str:
    """What files are accepted, with the size limit read from the settings (said before a slow upload, not after)."""
    mb = round(int(current_app.config["ATTACHMENT_MAX_BYTES"]) / 1024 / 1024, 1)
    return gettext("Pictures, PDF, short videos or text files, up to %(mb)s MB each.", mb=f"{mb:g}")


FILES_HINT = LazyString(_files_hint)


class NewTicketForm(FlaskForm):
    subject = StringField(
        _l("Subject"),
        validators=[DataRequired(), Length(max=300)],
        description=_l("In a few words, for example: “Verification code never arrives”."),
    )
    category = SelectField(_l("What is it about?"), validators=[Optional()])
    office = SelectField(_l("Office or district"), validators=[Optional()])
    body = TextAreaField(
        _l("Describe the problem"),
        validators=[DataRequired(), Length(max=20000)],
        description=_l("What did you do, what did you expect, what happened instead? Copy any error message."),
    )
    attachments = MultipleFileField(_l("Screenshots or files (optional)"), description=FILES_HINT)
    kb_suggestion_opened = HiddenField(default="0")
    submit = SubmitField(_l("Send the request"))


class ReplyForm(FlaskForm):
    body = TextAreaField(_l("Your message"), validators=[DataRequired(), Length(max=20000)])
    attachments = MultipleFileField(_l("Files (optional)"), description=FILES_HINT)
    visibility = RadioField(
        _l("Who can read it"),
        choices=lambda: [("public", _l("Public reply (the requester is told)")), ("internal", _l("Internal note (support team only)"))],
        default="public",
    )
    status = SelectField(_l("Then set the status to"), choices=lambda: status_choices(), validators=[Optional()])
    seen = HiddenField()  # the newest message on the page the reply was written on (see views.reply)
    submit = SubmitField(_l("Send"))


def status_choices(statuses=HAND_PICKED_STATUSES, keep_label=_l("(unchanged)")):
    """The statuses people may pick (never "Escalated": only an escalation sets it), after "unchanged"."""
    return [("", keep_label)] + [(s.value, s.label) for s in statuses]


def priority_choices():
    return [(p.value, p.label) for p in Priority]


def assignee_choices(colleagues, holder=None):
    """Nobody, then the support team (`colleagues`). Whoever holds the ticket though no longer in the
    team (deactivated since they took it) stays a choice, marked so, and the one selected: saving the
    ticket's other fields then leaves it with them instead of taking it from them unseen."""
    choices = [("", gettext("Nobody"))] + [(str(u.id), u.display_name) for u in colleagues]
    if holder is not None and holder.id not in {u.id for u in colleagues}:
        choices.append((str(holder.id), gettext("%(name)s (no longer in the support team)", name=holder.display_name)))
    return choices


class TicketFieldsForm(FlaskForm):
    status = SelectField(_l("Status"), validators=[Optional()])
    priority = SelectField(_l("Priority"), choices=priority_choices)
    category = SelectField(_l("Category"), validators=[Optional()])
    assignee = SelectField(_l("Assignee"), validators=[Optional()])
    group = SelectField(_l("Group"), validators=[Optional()])
    office = StringField(_l("Office or district"), validators=[Optional(), Length(max=200)])
    submit = SubmitField(_l("Save"))


class RateForm(FlaskForm):
    rating = RadioField(
        _l("How well was your problem solved?"),
        choices=lambda: [("5", _l("5 — very well")), ("4", "4"), ("3", "3"), ("2", "2"), ("1", _l("1 — not at all"))],
        validators=[DataRequired()],
    )
    comment = TextAreaField(_l("Comment (optional)"), validators=[Optional(), Length(max=2000)])
    submit = SubmitField(_l("Send my rating"))


class MergeForm(FlaskForm):
    target = StringField(_l("Merge into ticket"), validators=[DataRequired(), Length(max=20)], description=_l("The reference of the ticket to keep, as shown at the top of its page."))
    submit = SubmitField(_l("Merge"))


class CannedForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    locale = SelectField(_l("Language"))
    body = TextAreaField(
        _l("Text"),
        validators=[DataRequired(), Length(max=20000)],
        description=_l("You may cite the country's values, e.g. {{ country.name }}, {{ support.email }}, {{ registration.birth_deadline_days }}, and {{ ticket.reference }}."),
    )
    submit = SubmitField(_l("Save"))


class GroupMembersForm(FlaskForm):
    """Who is in one support group: a box per active support staff member (choices set by the view)."""

    members = SelectMultipleField(_l("Members"), coerce=int, option_widget=CheckboxInput())
    submit = SubmitField(_l("Save the members"))


class CategoryForm(FlaskForm):
    group = SelectField(_l("Routed to group"), validators=[Optional()])
    is_active = SelectField(_l("In use"), choices=lambda: [("1", _l("Yes")), ("0", _l("No"))])
    submit = SubmitField(_l("Save"))
