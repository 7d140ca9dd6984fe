"""The tenancy filter in the data layer: scoped reads and writes, fail-closed, explicit crossing."""
import pytest
from sqlalchemy import select, update

from portal.auth.models import Membership, User
from portal.auth.permissions import Role
from portal.core.db import SYSTEM, CrossTenantDenied, TenantScopeError, across_tenants, db, tenant_scope


@pytest.fixture
def two_members(app, make_user):
    make_user("a@example.org", tenant="farajaland", role=Role.L1_AGENT)
    make_user("b@example.org", tenant="kalondo", role=Role.L1_AGENT)


def test_queries_on_tenant_data_without_a_tenant_are_refused(app, two_members):
    with app.app_context():
        with pytest.raises(TenantScopeError):
            db.session.scalars(select(Membership)).all()
        # Global tables stay readable.
        assert db.session.scalar(select(User).where(User.email == "a@example.org")) is not None


def test_reads_see_only_the_current_tenant(app, tenant, two_members):
    with app.app_context(), tenant_scope(db.session, tenant.id):
        members = db.session.scalars(select(Membership)).all()
        assert [m.user.email for m in members] == ["a@example.org"]
        joined = db.session.scalars(select(User).join(Membership)).all()
        assert [u.email for u in joined] == ["a@example.org"]
        # A relationship read from a global row is filtered too.
        b = db.session.scalar(select(User).where(User.email == "b@example.org"))
        assert b.memberships == []


def test_bulk_updates_touch_only_the_current_tenant(app, tenant, other_tenant, two_members):
    with app.app_context():
        with tenant_scope(db.session, tenant.id):
            db.session.execute(update(Membership).values(job_title="changed"))
            db.session.commit()
        with across_tenants(db.session, SYSTEM):
            titles = {m.tenant_id: m.job_title for m in db.session.scalars(select(Membership))}
    assert titles[tenant.id] == "changed"
    assert titles[other_tenant.id] == ""


def test_new_rows_are_stamped_with_the_current_tenant_and_cannot_go_elsewhere(app, tenant, other_tenant, two_members):
    with app.app_context(), tenant_scope(db.session, tenant.id):
        user = db.session.scalar(select(User).where(User.email == "b@example.org"))
        stamped = Membership(user_id=user.id, role=Role.REQUESTER.value)
        db.session.add(stamped)
        db.session.flush()
        assert stamped.tenant_id == tenant.id
        db.session.rollback()

        db.session.add(Membership(user_id=user.id, role="requester", tenant_id=other_tenant.id))
        with pytest.raises(TenantScopeError):
            db.session.flush()
        db.session.rollback()


def test_rows_cannot_move_to_another_tenant(app, tenant, other_tenant, two_members):
    with app.app_context(), tenant_scope(db.session, tenant.id):
        membership = db.session.scalars(select(Membership)).one()
        membership.tenant_id = other_tenant.id
        with pytest.raises(TenantScopeError):
            db.session.flush()
        db.session.rollback()


def test_crossing_tenants_is_reserved_to_the_central_team(app, make_user, two_members):
    make_user("expert@example.org", global_role="l3_expert", tenant=None)
    with app.app_context():
        agent = db.session.scalar(select(User).where(User.email == "a@example.org"))
        with pytest.raises(CrossTenantDenied):
            with across_tenants(db.session, agent):
                pass
        expert = db.session.scalar(select(User).where(User.email == "expert@example.org"))
        with across_tenants(db.session, expert):
            assert len(db.session.scalars(select(Membership)).all()) == 2
        with pytest.raises(TenantScopeError):
            db.session.scalars(select(Membership)).all()


def test_commits_inside_keep_loaded_expire_everything_but_the_kept_object(app, tenant, other_tenant):
    from sqlalchemy import inspect

    from portal.core.db import keep_loaded
    from portal.tenancy.services import get_tenant

    with app.app_context():
        kept, other = get_tenant(tenant.slug), get_tenant(other_tenant.slug)
        with keep_loaded(db.session, kept):
            db.session.commit()
            with db.session.begin_nested():  # a savepoint released: nothing expires, as without the block
                pass
            assert not inspect(kept).expired_attributes
            assert "config" in inspect(other).expired_attributes
        other.name  # noqa: B018  (loaded again)
        db.session.commit()  # outside the block, commits expire every object again
        assert "config" in inspect(kept).expired_attributes
        assert "config" in inspect(other).expired_attributes


def test_one_session_switching_tenants_sees_each_tenant_s_rows_only(app, tenant, other_tenant, two_members):
    # The criteria option of each tenant is built once and its statement compiled once: the
    # tenant id must still be a parameter of each execution, not the first one's value.
    with app.app_context():
        seen = []
        for scope in (tenant, other_tenant, tenant, other_tenant):
            with tenant_scope(db.session, scope.id):
                seen.append([m.user.email for m in db.session.scalars(select(Membership))])
        assert seen == [["a@example.org"], ["b@example.org"], ["a@example.org"], ["b@example.org"]]
