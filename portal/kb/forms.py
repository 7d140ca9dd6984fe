"""Forms of the knowledge base: editing an article, and readers' feedback."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, RadioField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, Regexp

from portal.kb.models import Audience, Status


class ArticleForm(FlaskForm):
    slug = StringField(
        _l("Address name (slug)"),
        validators=[Optional(), Regexp(r"^[a-z0-9][a-z0-9-]{0,119}$", message=_l("Use lowercase letters, digits and hyphens."))],
        description=_l("Part of the article's address, for example “verification-code-not-received”."),
    )
    # Offered on the new-article page only; choices are the country's languages, set by the view.
    locale = SelectField(_l("Language of the article"), choices=list)
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=300)])
    body = TextAreaField(
        _l("Text (Markdown)"),
        validators=[Length(max=100_000)],
        description=_l("Country values can be inserted with placeholders such as {{ support.email }}."),
    )
    tags = StringField(_l("Tags"), validators=[Length(max=500)], description=_l("Words readers might use, separated by commas."))
    # Category, audience and status belong to the article, not to the language being edited.
    # Choices are set by the view (the library's categories, titled in the reader's language).
    category = SelectField(_l("Category"), choices=list, validators=[DataRequired()])
    audience = SelectField(_l("Who can read it"), choices=lambda: [(a.value, a.label) for a in Audience])
    status = SelectField(
        _l("Status"), choices=lambda: [(s.value, s.label) for s in Status],
        description=_l("Draft hides the article from readers in every language, not only this one."),
    )
    # Shown once a save as Draft was refused because it withdraws other languages (services.UnpublishRefused).
    unpublish = BooleanField(_l("Yes, withdraw the article from readers in every language"))
    # What the form was made from (services.edit_token): a save checks it, a draft keeps it.
    base = HiddenField(validators=[Length(max=40)])
    draft = HiddenField()  # the translation's draft it was made from (services.draft_token): saving a draft checks it
    preview = SubmitField(_l("Preview"))
    # Keeps the text of this language for later; readers keep the published text (services.save_translation_draft).
    save_draft = SubmitField(_l("Save draft"))
    # Makes the text the one readers get, as a new revision, and clears the draft (services.publish_translation).
    save = SubmitField(_l("Publish"))

    def tag_list(self) -> list[str]:
        return [t.strip() for t in (self.tags.data or "").split(",") if t.strip()]


class RevertForm(FlaskForm):
    """Dropping a country's copy of a generic article: asked again with what is lost (services.RevertRefused)."""

    confirm = BooleanField(_l("Yes, delete our text in every language, with its history"))
    submit = SubmitField(_l("Use the generic article"))


class FeedbackForm(FlaskForm):
    helpful = RadioField(_l("Did this answer your question?"), choices=lambda: [("yes", _l("Yes")), ("no", _l("No"))], validators=[DataRequired()])
    comment = TextAreaField(_l("What was missing? (optional)"), validators=[Optional(), Length(max=2000)])
    send = SubmitField(_l("Send"))
