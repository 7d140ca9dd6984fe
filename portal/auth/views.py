"""Sign-in, sign-out, language choice, profile, password reset, and a tenant's members."""
from __future__ import annotations

import datetime as dt
import secrets
from urllib.parse import urlsplit

from babel.lists import format_list
from flask import Blueprint, Flask, current_app, flash, g, make_response, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required, login_user, logout_user
from flask_login.config import COOKIE_NAME as REMEMBER_COOKIE
from itsdangerous import BadData, URLSafeTimedSerializer
from limits import parse as parse_limit

from portal.auth import services
from portal.auth.forms import (
    AddMemberForm,
    ApiTokenForm,
    ChangePasswordForm,
    EditMemberForm,
    ForgotPasswordForm,
    LoginForm,
    MemberDetailsForm,
    ProfileForm,
    ResetPasswordForm,
    add_member_form,
    member_details_form,
)
from portal.auth.loaders import require
from portal.auth.permissions import Permission, Role
from portal.core.db import db, row_id
from portal.core.errors import error_response
from portal.core.i18n import LOCALE_COOKIE, current_locale, offered_locales
from portal.core.mail import queue_mail
from portal.extensions import limiter
from portal.tickets import services as tickets

bp = Blueprint("auth", __name__, template_folder="templates")


def register(app: Flask) -> None:
    app.register_blueprint(bp)


def _link_life() -> dt.timedelta:
    """How long a password link works: a mail carrying one is not sent after that."""
    return dt.timedelta(seconds=current_app.config["PASSWORD_RESET_MAX_AGE"])


def _login_rate_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def safe_next(target: str | None, default: str) -> str:
    """Only local paths are followed after a form, never another site."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


def _home() -> str:
    """Where a sign-in leads when no page was asked for: the country's home, or for the central team
    signing in outside any country, their console."""
    if g.get("tenant"):
        return url_for("tenancy.home")
    if current_user.is_authenticated and current_user.is_expert:
        return url_for("escalation.console")
    return url_for("tenancy.landing")


@bp.route("/<tenant>/login", methods=["GET", "POST"])
@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_rate_limit, methods=["POST"])
def login():
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    if current_user.is_authenticated and request.method == "GET":
        return redirect(safe_next(form.next.data, _home()))
    if form.validate_on_submit():
        known = _known_here()
        result, user = services.authenticate(form.email.data, form.password.data, known_here=frozenset(known))
        if result == services.LoginResult.OK:
            session.clear()  # a new session: nothing put in it before (a planted CSRF token) carries over
            services.start_sign_in(user)
            db.session.commit()
            login_user(user, remember=form.remember.data)
            response = redirect(safe_next(form.next.data, _home()))
            _remember_known_here(response, user, known)
            return response
        if result == services.LoginResult.LOCKED:
            form.password.errors.append(
                ngettext("Too many failed attempts: this account is locked for %(num)s minute.",
                         "Too many failed attempts: this account is locked for %(num)s minutes.", current_app.config["LOGIN_LOCK_MINUTES"])
            )
        elif result == services.LoginResult.INACTIVE:
            form.password.errors.append(_("This account is deactivated. Contact your administrator."))
        else:
            form.password.errors.append(_("Incorrect email or password."))
        return render_template("auth/login.html", form=form), 401 if result != services.LoginResult.LOCKED else 429
    return render_template("auth/login.html", form=form), 400 if form.errors else 200


# The accounts that signed in from this browser, in a signed cookie: their account lock does not
# apply here (see services.authenticate). A few, for a computer an office shares.
KNOWN_COOKIE = "known_accounts"
KNOWN_MAX = 5
KNOWN_DAYS = 180


def _known_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="known-accounts")


def _known_here() -> list[int]:
    value = request.cookies.get(KNOWN_COOKIE)
    if not value:
        return []
    try:
        ids = _known_serializer().loads(value, max_age=KNOWN_DAYS * 24 * 3600)
    except BadData:
        return []
    return [i for i in ids if isinstance(i, int) and not isinstance(i, bool)][:KNOWN_MAX] if isinstance(ids, list) else []


def _remember_known_here(response, user, known: list[int]) -> None:
    ids = [user.id] + [i for i in known if i != user.id]
    response.set_cookie(KNOWN_COOKIE, _known_serializer().dumps(ids[:KNOWN_MAX]), max_age=KNOWN_DAYS * 24 * 3600,
                        httponly=True, samesite="Lax", secure=request.is_secure)


@bp.post("/<tenant>/logout")
@bp.post("/logout")
def logout():
    if current_user.is_authenticated:
        services.end_sign_in(current_user)
        db.session.commit()
    session.clear()  # before logout_user, which asks for the remember-me cookie to be cleared
    logout_user()
    flash(_("You are signed out."), "info")
    response = redirect(_home())
    # Phones are shared: what this account kept in the browser (the drafts of unsent requests and
    # replies) goes with it. Cookies and the cached static files stay.
    response.headers["Clear-Site-Data"] = '"storage"'
    return response


@bp.route("/<tenant>/language", methods=["GET", "POST"])
@bp.route("/language", methods=["GET", "POST"])
def language():
    """Keep the reader's choice of language. For anyone it is a display preference kept in a cookie,
    so the footer's form is sent with GET and carries no CSRF token: a page with nothing else to
    protect needs no session. A signed-in user's choice is also saved on their account, which only
    a POST (with its CSRF token) does: a link from another site cannot change it."""
    values = request.form if request.method == "POST" else request.args
    lang = values.get("lang", "")
    if lang not in offered_locales():
        return error_response(400, _("This language is not offered here."))
    if current_user.is_authenticated and request.method == "POST":
        current_user.locale = lang
        db.session.commit()
    response = make_response(redirect(safe_next(values.get("next"), _home())))
    response.set_cookie(LOCALE_COOKIE, lang, max_age=365 * 24 * 3600, httponly=True, samesite="Lax", secure=request.is_secure)
    return response


@bp.route("/<tenant>/profile", methods=["GET", "POST"])
@bp.route("/profile", methods=["GET", "POST"])
@login_required
def profile():
    form = ProfileForm(obj=current_user, prefix="profile")
    password_form = ChangePasswordForm(prefix="pw")
    if form.submit.data and form.validate_on_submit():
        current_user.name = form.name.data or ""
        current_user.phone = form.phone.data or None
        db.session.commit()
        flash(_("Your profile is saved."), "success")
        return redirect(url_for("auth.profile"))
    if password_form.submit.data and password_form.validate_on_submit():
        result, _user = services.authenticate(current_user.email, password_form.current.data)
        if result != services.LoginResult.OK:
            password_form.current.errors.append(_("The current password is not correct."))
        else:
            services.set_password(current_user, password_form.password.data)
            services.end_other_sign_ins(current_user)
            db.session.commit()
            # The new password ends every other session; this one goes on under the new one.
            login_user(current_user._get_current_object(), remember=REMEMBER_COOKIE in request.cookies)
            flash(_("Your password is changed."), "success")
            return redirect(url_for("auth.profile"))
    return _profile_page(form, password_form)


def _profile_page(form=None, password_form=None, token_form=None, new_token: str | None = None, status: int | None = None):
    form = form or ProfileForm(obj=current_user, prefix="profile")
    password_form = password_form or ChangePasswordForm(prefix="pw")
    token_form = token_form or ApiTokenForm(prefix="token", formdata=None)
    token_form.once.data = session.setdefault(TOKEN_FORM_KEY, secrets.token_urlsafe(16))
    memberships = []
    if g.get("tenant"):
        membership = services.membership_for(current_user, g.tenant)
        memberships = [membership] if membership else []
    if status is None:
        status = 400 if (form.errors or password_form.errors or token_form.errors) else 200
    return render_template("auth/profile.html", form=form, password_form=password_form, memberships=memberships,
                           token_form=token_form, tokens=services.api_tokens_of(current_user), new_token=new_token,
                           other_sign_ins=services.other_sign_ins(current_user)), status


TOKEN_FORM_KEY = "token_form"


@bp.post("/<tenant>/profile/tokens")
@bp.post("/profile/tokens")
@login_required
def create_token():
    """A personal API token for scripts (the deployment's version report, the tickets API): shown
    once, on this page, never again (only its digest is kept)."""
    form = ApiTokenForm(prefix="token")
    if not form.validate_on_submit():
        return _profile_page(token_form=form)
    if not form.once.data or form.once.data != session.get(TOKEN_FORM_KEY):
        # The page that showed the token, reloaded: its form was used, and a second token is not wanted.
        flash(_("This token was made already and shown once. Create another one if you did not copy it."), "info")
        return redirect(url_for("auth.profile"), 303)
    session.pop(TOKEN_FORM_KEY)
    token = services.issue_api_token(current_user, name=form.name.data.strip())
    db.session.commit()
    response = make_response(_profile_page(new_token=token))
    response.headers["Cache-Control"] = "no-store"  # the token is on this page only
    return response


@bp.post("/<tenant>/profile/tokens/<int:token_id>/revoke")
@bp.post("/profile/tokens/<int:token_id>/revoke")
@login_required
def revoke_token(token_id: int):
    if not services.revoke_api_token(current_user, token_id):
        return error_response(404)
    db.session.commit()
    flash(_("The token is revoked: scripts that use it are refused from now on."), "success")
    return redirect(url_for("auth.profile"))


@bp.post("/<tenant>/profile/sign-ins/end")
@bp.post("/profile/sign-ins/end")
@login_required
def end_other_sign_ins():
    """Sign out on every other browser and phone (one left signed in somewhere, or a lost phone)."""
    ended = services.end_other_sign_ins(current_user)
    db.session.commit()
    flash(ngettext("You are signed out on %(num)d other device.", "You are signed out on %(num)d other devices.", ended), "success")
    return redirect(url_for("auth.profile"))


@bp.route("/<tenant>/password/forgot", methods=["GET", "POST"])
@bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit(_login_rate_limit, methods=["POST"])
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        user = services.get_user_by_email(form.email.data)
        if user is not None and user.is_active_account and _reset_mail_allowed(user.email):
            link = url_for("auth.reset_password", token=services.make_reset_token(user), _external=True)
            body = render_template("auth/email/reset.txt", user=user, link=link)
            queue_mail(user.email, _("Reset your CRVS Support password"), body, expires_in=_link_life())
            db.session.commit()
        # The same answer whether or not the address is known, so accounts cannot be discovered.
        flash(_("If an account uses this address, we have sent it a link to choose a new password. The link works for one hour."), "info")
        return redirect(url_for("auth.login"))
    return render_template("auth/forgot.html", form=form), 400 if form.errors else 200


# Reset mails one address may receive, from any client (the route's own limit counts per client):
# beyond it, the form answers as always and nothing is sent, so nobody can flood a colleague's inbox.
RESET_MAILS = parse_limit("3 per hour")


# Invitations sent again to one address, by any administrator: the same care for their inbox.
INVITATION_MAILS = parse_limit("3 per hour")


def _mail_allowed(limit, kind: str, email: str) -> bool:
    """Whether one more mail of `kind` may go to `email` within `limit` (counted across app servers)."""
    if not current_app.config.get("RATELIMIT_ENABLED", True):
        return True
    return limiter.limiter.hit(limit, kind, services.normalize_email(email))


def _reset_mail_allowed(email: str) -> bool:
    return _mail_allowed(RESET_MAILS, "password-reset-mail", email)


@bp.route("/<tenant>/password/reset/<token>", methods=["GET", "POST"])
@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    user = services.user_for_reset_token(token)
    if user is None:
        flash(_("This reset link is not valid any more. Please ask for a new one."), "error")
        return redirect(url_for("auth.forgot_password"))
    form = ResetPasswordForm()
    if form.validate_on_submit():
        services.set_password(user, form.password.data)
        services.end_other_sign_ins(user)  # all of them: whoever knew the old password may be signed in
        revoked = services.revoke_all_api_tokens(user)
        db.session.commit()
        flash(_("Your new password is set. You can sign in now."), "success")
        if revoked:
            flash(ngettext("Your API token was revoked with the old password: create a new one on your profile page.",
                           "Your %(num)d API tokens were revoked with the old password: create new ones on your profile page.", revoked), "info")
        return redirect(url_for("auth.login"))
    return render_template("auth/reset.html", form=form), 400 if form.errors else 200


# -- members of a tenant ------------------------------------------------------------------------


@bp.route("/<tenant>/members", methods=["GET", "POST"])
@require(Permission.MEMBERS_MANAGE)
def members():
    form = add_member_form(g.tenant.settings.registration.offices)
    form.groups.choices = _group_choices()
    if form.validate_on_submit():
        try:
            membership, invited = services.add_member(g.tenant, form.email.data, Role(form.role.data), name=form.name.data or "",
                                                      job_title=form.job_title.data or "", office=form.office.data or "",
                                                      groups=form.groups.data or [])
        except services.AccountError as exc:
            form.email.errors.append(str(exc))
        else:
            if invited:
                _send_invitation(membership.user)
            db.session.commit()  # the member, their groups and their invitation, together
            flash(_("%(email)s is now a member.", email=membership.user.email), "success")
            if membership.role in tickets.STAFF_ROLES:
                _flash_groups(membership.user)
            return redirect(url_for("auth.members"))
    return _members_page(form)


def _group_choices() -> list[tuple[str, str]]:
    """The country's support groups, by name and level, for "Add a member"."""
    settings = g.tenant.settings
    locale = current_locale()
    return [(key, _("%(group)s (%(tier)s)", group=settings.localize(group.name, locale) or key, tier=group.tier))
            for key, group in settings.tiers.groups.items()]


def _flash_groups(user) -> None:
    """Say which support groups `user` is in (they are given tickets of those), or that they are in none."""
    names = dict(_group_choices())
    keys = tickets.groups_of(g.tenant, user)
    if keys:
        flash(_("%(email)s is in: %(groups)s. Groups are changed on the Tiers page.", email=user.email,
                groups=format_list([names[key] for key in keys], locale=current_locale())), "info")
    else:
        flash(_("%(email)s is in no support group: no ticket is given to them automatically. Groups are changed on the Tiers page.",
                email=user.email), "info")


def _members_page(form: AddMemberForm | None = None, editing=None, details_form: MemberDetailsForm | None = None):
    """The members page (with the details form of the member `editing` above the list, if any);
    400 when a form on it was refused."""
    if form is None:
        form = add_member_form(g.tenant.settings.registration.offices, formdata=None)
        form.groups.choices = _group_choices()
    args = _members_args()
    found, total = services.list_members(g.tenant, q=args.get("q", ""), role=args.get("role", ""), page=args.get("page", 1))
    # formdata=None: each row shows its member as stored, never what another form on the page sent
    # (read from that request, an absent checkbox would show every member inactive).
    rows = [(m, EditMemberForm(formdata=None, prefix=f"m{m.id}", role=m.role, is_active=m.is_active), services.invitation_pending(m)) for m in found]
    refused = form.errors or (details_form is not None and details_form.errors)
    return render_template("auth/members.html", form=form, rows=rows, total=total, args=args, roles=list(Role),
                           editing=editing, details_form=details_form,
                           has_more=args.get("page", 1) * services.MEMBERS_PER_PAGE < total), 400 if refused else 200


def _send_invitation(user) -> None:
    """Queue the mail inviting `user` to choose a password (the link works for PASSWORD_RESET_MAX_AGE)."""
    link = url_for("auth.reset_password", token=services.make_reset_token(user), _external=True)
    body = render_template("auth/email/invite.txt", user=user, link=link, tenant=g.tenant)
    queue_mail(user.email, _("You are invited to the %(name)s support portal", name=g.tenant.name), body, expires_in=_link_life())


def _members_args() -> dict:
    """The members page's search, role and page, as given (what is not given is left out)."""
    args: dict = {}
    if q := (request.args.get("q") or "").strip()[:200]:
        args["q"] = q
    if (role := request.args.get("role") or "") in {r.value for r in Role}:
        args["role"] = role
    page = row_id(request.args.get("page"))
    if page and page > 1:
        args["page"] = min(page, 100_000)
    return args


@bp.post("/<tenant>/members/<int:membership_id>")
@require(Permission.MEMBERS_MANAGE)
def edit_member(membership_id: int):
    membership = services.get_membership(g.tenant, membership_id)
    if membership is None:
        return error_response(404)
    form = EditMemberForm(prefix=f"m{membership.id}")
    if not form.validate_on_submit():
        return error_response(400)
    role_before = membership.role
    try:
        returned = services.change_member(current_user, g.tenant, membership, Role(form.role.data), form.is_active.data)
    except services.AccountError as exc:
        flash(str(exc), "error")
    else:
        flash(_("The member is updated."), "success")
        if returned:
            flash(ngettext("Their %(num)d open ticket is back in the queue, unassigned.",
                           "Their %(num)d open tickets are back in the queue, unassigned.", returned), "info")
        if membership.role != role_before and membership.role in tickets.STAFF_ROLES and membership.is_active:
            _flash_groups(membership.user)  # a new role moves nobody between groups: say where they are
    return redirect(url_for("auth.members", **_members_args()))  # back to the page the change was made on


@bp.route("/<tenant>/members/<int:membership_id>/details", methods=["GET", "POST"])
@require(Permission.MEMBERS_MANAGE)
def member_details(membership_id: int):
    """Correct a member's name, job title or office. The form opens above the members list, at a
    phone's width, instead of three more fields in each row of a table already wider than a phone."""
    membership = services.get_membership(g.tenant, membership_id)
    if membership is None:
        return error_response(404)
    form = member_details_form(g.tenant.settings.registration.offices, membership.office, prefix="details",  # beside "Add a member"
                               data={"name": membership.user.name, "job_title": membership.job_title, "office": membership.office})
    if form.validate_on_submit():
        changed = services.change_member_details(g.tenant, membership, name=form.name.data or "",
                                                 job_title=form.job_title.data or "", office=form.office.data or "")
        db.session.commit()
        if changed:
            flash(_("The details of %(email)s are saved.", email=membership.user.email), "success")
        else:
            flash(_("Nothing changed."), "info")
        return redirect(url_for("auth.members", **_members_args()))
    return _members_page(editing=membership, details_form=form)


@bp.post("/<tenant>/members/<int:membership_id>/invitation")
@require(Permission.MEMBERS_MANAGE)
def resend_invitation(membership_id: int):
    """Send the invitation again to a member who has not chosen a password yet (the first mail was
    lost, or its link expired): a fresh link; the earlier ones keep working until a password is set."""
    membership = services.get_membership(g.tenant, membership_id)
    if membership is None:
        return error_response(404)
    if not services.invitation_pending(membership):
        flash(_("There is no invitation to send to %(email)s: they have chosen a password already, or they are deactivated.",
                email=membership.user.email), "error")
    elif not _mail_allowed(INVITATION_MAILS, "invitation-mail", membership.user.email):
        flash(_("%(email)s was sent several invitations in the last hour. Ask them to look in their spam folder, or try again later.",
                email=membership.user.email), "error")
        return _members_page()[0], 429
    else:
        _send_invitation(membership.user)
        db.session.commit()
        flash(_("A new invitation is on its way to %(email)s.", email=membership.user.email), "success")
    return redirect(url_for("auth.members", **_members_args()))
