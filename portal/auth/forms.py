from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, PasswordField, SelectField, SelectMultipleField, StringField, SubmitField
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput

from portal.auth.permissions import ROLE_PERMISSIONS, Permission, Role
from portal.auth.services import MIN_PASSWORD_LENGTH


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])
    remember = BooleanField(_l("Keep me signed in on this device"))
    next = HiddenField()
    submit = SubmitField(_l("Sign in"))


class ForgotPasswordForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(), Length(max=254)])
    submit = SubmitField(_l("Send me a reset link"))


class ResetPasswordForm(FlaskForm):
    password = PasswordField(
        _l("New password"),
        validators=[DataRequired(), Length(min=MIN_PASSWORD_LENGTH, max=200)],
        description=_l("At least %(count)s characters.", count=MIN_PASSWORD_LENGTH),
    )
    confirm = PasswordField(_l("Repeat the new password"), validators=[DataRequired(), EqualTo("password", message=_l("The two passwords differ."))])
    submit = SubmitField(_l("Set password"))


class ApiTokenForm(FlaskForm):
    name = StringField(_l("What the token is for"), validators=[DataRequired(), Length(max=100)],
                       description=_l("For example: deployment script, monitoring."))
    once = HiddenField()  # this form's one-time key: sent again (the page reloaded), it makes no second token
    submit = SubmitField(_l("Create a token"))


class ProfileForm(FlaskForm):
    name = StringField(_l("Name"), validators=[Optional(), Length(max=200)])
    phone = StringField(_l("Phone number"), validators=[Optional(), Length(max=40)])
    submit = SubmitField(_l("Save"))


class ChangePasswordForm(FlaskForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=200)])
    password = PasswordField(_l("New password"), validators=[DataRequired(), Length(min=MIN_PASSWORD_LENGTH, max=200)])
    confirm = PasswordField(_l("Repeat the new password"), validators=[DataRequired(), EqualTo("password", message=_l("The two passwords differ."))])
    submit = SubmitField(_l("Change password"))


# The roles of the support desk, who may be in its groups.
SUPPORT_ROLES = frozenset(role.value for role, granted in ROLE_PERMISSIONS.items() if Permission.TICKETS_WORK in granted)


def role_choices():
    return [(role.value, role.label) for role in Role]


class AddMemberForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(), Length(max=254)])
    name = StringField(_l("Name"), validators=[Optional(), Length(max=200)])
    role = SelectField(_l("Role"), choices=role_choices, validators=[DataRequired()])
    job_title = StringField(_l("Job title"), validators=[Optional(), Length(max=100)], description=_l("For example: registration agent, field agent, registrar."))
    office = StringField(_l("Office or district"), validators=[Optional(), Length(max=200)])
    # The country's support groups, set by the view. None ticked: see auth.services.add_member.
    groups = SelectMultipleField(_l("Support groups"), option_widget=CheckboxInput(),
                                 description=_l("For a support role. None ticked: the groups the country's configuration file lists them in, else the first group of their level."))
    submit = SubmitField(_l("Add member"))

    def validate_groups(self, field) -> None:
        if field.data and self.role.data not in SUPPORT_ROLES:
            raise ValidationError(_l("Only support staff (Level 1 agents, Level 2 technicians and administrators) are in groups: choose one of these roles, or no group."))


class AddMemberOfficeChoiceForm(AddMemberForm):
    """The same, for a country that lists its offices: the office is one of them, or none."""

    office = SelectField(_l("Office or district"), validators=[Optional()])


def add_member_form(offices: list[str], **kwargs) -> AddMemberForm:
    """"Add a member": the office is a choice among the country's `offices` when it lists them (as on
    the member's details form), else free text."""
    if not offices:
        return AddMemberForm(**kwargs)
    form = AddMemberOfficeChoiceForm(**kwargs)
    form.office.choices = [("", _l("Not specific to one office"))] + [(office, office) for office in offices]
    return form


class EditMemberForm(FlaskForm):
    role = SelectField(_l("Role"), choices=role_choices, validators=[DataRequired()])
    is_active = BooleanField(_l("Active"))
    submit = SubmitField(_l("Save"))


class MemberDetailsForm(FlaskForm):
    """A member's name (their account's, shown in every country they belong to), and their job title
    and office in this country."""

    name = StringField(_l("Name"), validators=[Optional(), Length(max=200)],
                       description=_l("Their name is the same in every country where they have a role."))
    job_title = StringField(_l("Job title"), validators=[Optional(), Length(max=100)], description=_l("For example: registration agent, field agent, registrar."))
    office = StringField(_l("Office or district"), validators=[Optional(), Length(max=200)])
    submit = SubmitField(_l("Save"))


class MemberOfficeChoiceForm(MemberDetailsForm):
    """The same, for a country that lists its offices: the office is one of them, or none."""

    office = SelectField(_l("Office or district"), validators=[Optional()])


def member_details_form(offices: list[str], current_office: str, **kwargs) -> MemberDetailsForm:
    """The details form of a member with `current_office`: a choice among the country's `offices` when
    it lists them, else free text. An office no longer listed stays among the choices while the
    member has it, so that correcting their name does not silently take their office away."""
    if not offices:
        return MemberDetailsForm(**kwargs)
    form = MemberOfficeChoiceForm(**kwargs)
    kept = [current_office] if current_office and current_office not in offices else []
    form.office.choices = [("", _l("Not specific to one office"))] + [(office, office) for office in [*offices, *kept]]
    return form
