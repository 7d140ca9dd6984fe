"""Forms of the escalation pages (tenant side and central console)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, MultipleFileField, SelectField, SelectMultipleField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from portal.escalation.models import ENVIRONMENT_LABELS, PROBLEM_STATUS_LABELS, SEVERITY_LABELS


def _choices(labels, blank=None):
    """Choices as a callable, read when the form is built (in the reader's language)."""

    def choices():
        items = [(k.value, v) for k, v in labels.items()]
        return ([("", blank)] if blank is not None else []) + items

    return choices


class EscalateForm(FlaskForm):
    reason = TextAreaField(_l("Why does it need the next level?"), validators=[DataRequired(), Length(max=5000)])
    severity = SelectField(_l("Severity"), choices=_choices(SEVERITY_LABELS, _l("Choose…")), validators=[DataRequired()])
    opencrvs_version = StringField(_l("OpenCRVS version"), validators=[Length(max=40)], description=_l("The version the country runs, unless the problem was seen on another one."))
    country_config_version = StringField(_l("Country configuration version"), validators=[Optional(), Length(max=40)])
    environment = SelectField(_l("Environment"), choices=_choices(ENVIRONMENT_LABELS), default="production")
    device = StringField(_l("Device"), validators=[Optional(), Length(max=200)], description=_l("e.g. Samsung Galaxy A14, office desktop"))
    os = StringField(_l("Operating system"), validators=[Optional(), Length(max=200)])
    browser = StringField(_l("Browser"), validators=[Optional(), Length(max=200)])
    steps = TextAreaField(_l("Steps to reproduce"), validators=[Optional(), Length(max=5000)])
    expected = TextAreaField(_l("Expected result"), validators=[Optional(), Length(max=5000)])
    actual = TextAreaField(_l("Actual result"), validators=[Optional(), Length(max=5000)])
    impact = TextAreaField(_l("Impact"), validators=[Optional(), Length(max=5000)], description=_l("Who is affected, how many, since when."))
    regression = SelectField(_l("Did it work in an earlier version?"), choices=lambda: [("", _l("Don't know")), ("yes", _l("Yes: it is a regression")), ("no", _l("No"))], default="")
    attachments = MultipleFileField(_l("Logs or screenshots"))
    submit = SubmitField(_l("Escalate"))


class DeescalateForm(FlaskForm):
    reason = TextAreaField(_l("Why does it go back?"), validators=[DataRequired(), Length(max=5000)])
    submit = SubmitField(_l("Send back"))


class RelayForm(FlaskForm):
    body = TextAreaField(_l("Message to the requester"), validators=[Optional(), Length(max=20000)], description=_l("Edit the answer into words the requester understands, or leave it as it is."))
    submit = SubmitField(_l("Send to the requester"))


class ExpertReplyForm(FlaskForm):
    body = TextAreaField(_l("Answer to the country's Level 2 team"), validators=[DataRequired(), Length(max=20000)])
    attachments = MultipleFileField(_l("Files"))
    submit = SubmitField(_l("Send to Level 2"))


class OwnerForm(FlaskForm):
    """Who owns an escalation: the reader takes it, hands it to a colleague, or leaves it to nobody.
    `owner` is a user's id or "none", read by the view (the choices only list whom to hand it to)."""

    owner = SelectField(_l("Hand to"), validators=[DataRequired()], validate_choice=False)
    seen = HiddenField()  # who owned it when the page was shown
    submit = SubmitField(_l("Hand over"))


class LinkProblemForm(FlaskForm):
    problem_id = SelectField(_l("Existing problem"), coerce=int, validators=[DataRequired()])
    submit = SubmitField(_l("Link to this problem"))


class ProblemForm(FlaskForm):
    step_id = HiddenField()
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=300)],
                        description=_l("What goes wrong in OpenCRVS, with no names or other personal data: every country whose tickets are linked reads it."))
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=20000)])
    severity = SelectField(_l("Severity"), choices=_choices(SEVERITY_LABELS, _l("Not set")), validators=[Optional()])
    external_url = StringField(_l("External issue (address)"), validators=[Optional(), Length(max=500)])
    status = SelectField(_l("Status"), choices=_choices(PROBLEM_STATUS_LABELS), validators=[Optional()])
    submit = SubmitField(_l("Save the problem"))


class ReleaseForm(FlaskForm):
    version = StringField(_l("Version"), validators=[DataRequired(), Length(max=40)], description=_l("e.g. 1.9.1"))
    released_on = DateField(_l("Release date"), validators=[Optional()])
    notes = TextAreaField(_l("Release notes"), validators=[Optional(), Length(max=20000)])
    problems = SelectMultipleField(_l("Problems fixed"), coerce=int, validators=[Optional()])
    submit = SubmitField(_l("Record the release"))


class DeploymentForm(FlaskForm):
    version = StringField(_l("Deployed OpenCRVS version"), validators=[DataRequired(), Length(max=40)])
    submit = SubmitField(_l("Save the version"))
