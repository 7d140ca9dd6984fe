from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Email, Length, Optional

from portal.assistant.services import MAX_EXAMPLE_CHARS, MAX_MESSAGE_LENGTH


class AskForm(FlaskForm):
    message = TextAreaField(
        _l("Your question"),
        validators=[DataRequired(message=_l("Please type a question.")),
                    Length(max=MAX_MESSAGE_LENGTH, message=_l("Please keep your question under %(max)d characters."))],
        render_kw={"rows": 2, "maxlength": MAX_MESSAGE_LENGTH,
                   "placeholder": _l("e.g. the verification code does not arrive")},
    )
    submit = SubmitField(_l("Ask"))


class HandoverForm(FlaskForm):
    """Who to answer: only asked of visitors who are not signed in."""

    name = StringField(_l("Your name"), validators=[Optional(), Length(max=200)])
    email = EmailField(_l("Email"), validators=[Optional(), Email(), Length(max=254)])
    phone = StringField(_l("Phone or WhatsApp number"), validators=[Optional(), Length(max=40)])
    submit = SubmitField(_l("Talk to a person"))


class ExampleForm(FlaskForm):
    """An editor's example of a question an article answers."""

    question = StringField(_l("Question, as staff ask it"), validators=[DataRequired(message=_l("Type the question as staff would ask it.")),
                           Length(max=MAX_EXAMPLE_CHARS)], render_kw={"maxlength": MAX_EXAMPLE_CHARS})
    locale = SelectField(_l("Language"))
    submit = SubmitField(_l("Add the question"))


class RemoveExampleForm(FlaskForm):
    """Only its CSRF token: a button that removes one example."""
