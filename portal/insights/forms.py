from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length, Optional


class ArticleLinkForm(FlaskForm):
    article_ref = StringField(_l("Article address or name"), validators=[DataRequired(), Length(max=300)],
                              description=_l("The help article that answers this request, or would have: its title (the list offers them), its address, or the name of an article still to write."),
                              render_kw={"list": "kb-article-titles", "autocomplete": "off"})
    article_title = StringField(_l("Article title"), validators=[Optional(), Length(max=300)])
