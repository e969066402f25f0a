"""Staff of a shop: add people with a role, change roles, deactivate, and one-time password links.

Owners manage everybody; admins manage everybody below owner. Nobody changes their own access, and a shop
always keeps at least one active owner. Every change is written to the owner's audit list (StaffChange).
"""

import re
from importlib import import_module

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.contrib.sessions.models import Session
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext

from . import rls, system
from .db import broken_constraint
from .errors import DomainError
from .locks import lock_active_owners
from .models import ApiToken, Membership, Role, StaffChange
from .tenancy.roles import SETTINGS

USERNAME = re.compile(r"^[\w.@+-]{3,150}$")


class StaffRuleBroken(DomainError):
    code = "staff_rule"
    status = 409


def _may_manage(actor_role: str, role: str) -> bool:
    return actor_role == Role.OWNER or (actor_role == Role.ADMIN and role != Role.OWNER)


def _check(actor, actor_role: str, membership: Membership | None, new_role: str | None = None) -> None:
    if new_role is not None and new_role not in Role.values:
        raise DomainError(gettext("Choose one of the roles offered."), field="role")
    if membership is not None and membership.user_id == actor.pk:
        raise StaffRuleBroken(gettext("You cannot change your own access; ask another owner."))
    for role in filter(None, [membership.role if membership else None, new_role]):
        if not _may_manage(actor_role, role):
            raise StaffRuleBroken(gettext("Only an owner can give or change the owner role."))


def _last_owner(membership: Membership) -> bool:
    if membership.role != Role.OWNER:
        return False
    return all(owner.pk == membership.pk for owner in lock_active_owners(membership.tenant_id))


def _log(membership: Membership, actor, action: str, **details) -> None:
    StaffChange.objects.create(
        tenant_id=membership.tenant_id, actor=actor, member=membership.user, action=action, details=details
    )


def own_login(membership: Membership) -> bool:
    """Whether the person's login is this shop's to manage: nobody else employs them and they do not run the
    installation. A login shared with another shop belongs to the person: this shop may neither set its password
    (that would open the other shop to it) nor end its sessions there."""
    return membership.user_id in own_logins(membership.tenant_id, [membership.user])


def own_logins(tenant_id: int, users) -> set[int]:
    """The ids of those `users` whose login is this shop's own (see own_login), asked in one round trip."""
    candidates = [user.pk for user in users if not (user.is_superuser or user.is_staff)]
    if not candidates:
        return set()
    shared = {row[0] for row in rls.system_rows(system.shared_logins, candidates, tenant_id)}
    return set(candidates) - shared


def _revoke_tokens(membership: Membership) -> int:
    return ApiToken.objects.filter(
        tenant_id=membership.tenant_id, created_by=membership.user, revoked_at__isnull=True
    ).update(revoked_at=timezone.now())


def _new_login(User, username: str, email: str):
    user = User(username=username, email=(email or "").strip())
    user.set_unusable_password()  # they choose it through the one-time link
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as exc:
        if broken_constraint(exc) != "auth_user_username_key":
            raise
        # made meanwhile by a request that has committed (a second click on Add): theirs is the login
        return User.objects.get(username=username)
    return user


@transaction.atomic
def add_staff(*, tenant, actor, actor_role: str, username: str, email: str, role: str) -> Membership:
    """A person joins the shop with a role (a new login, or someone already working for another shop)."""
    _check(actor, actor_role, None, role)
    username = (username or "").strip()
    if not USERNAME.match(username):
        raise DomainError(gettext("A login of 3 to 150 letters, digits or . @ + - _"), field="username")
    User = get_user_model()
    user = User.objects.filter(username__iexact=username).first()
    if user is None:
        user = _new_login(User, username, email)
    existing = Membership.objects.filter(tenant=tenant, user=user).first()
    if existing is not None and existing.is_active:
        raise StaffRuleBroken(
            gettext("%(username)s already works in this shop.") % {"username": username}, field="username"
        )
    if existing is not None:
        _check(actor, actor_role, existing)  # taking a deactivated person back changes their role: same rules
    membership, _ = Membership.objects.update_or_create(
        tenant=tenant, user=user, defaults={"role": role, "is_active": True}
    )
    _log(membership, actor, "added", role=role)
    return membership


@transaction.atomic
def change_role(*, membership: Membership, actor, actor_role: str, role: str) -> Membership:
    _check(actor, actor_role, membership, role)
    if membership.role == role:
        return membership
    if _last_owner(membership):
        raise StaffRuleBroken(gettext("The shop needs an owner: make someone else owner first."))
    before = membership.role
    membership.role = role
    membership.save(update_fields=["role"])
    # API tokens are made by the roles that manage settings; a person moved below them keeps none
    revoked = _revoke_tokens(membership) if role not in SETTINGS else 0
    _log(membership, actor, "role_changed", before=before, after=role, tokens_revoked=revoked)
    return membership


@transaction.atomic
def set_active(*, membership: Membership, actor, actor_role: str, active: bool) -> Membership:
    """Deactivating ends the person's access at once: the API tokens they made, and their sessions when the login
    is the shop's own (one shared with another shop keeps its sessions there; here the membership read on every
    request shuts it out)."""
    _check(actor, actor_role, membership)
    if membership.is_active == active:
        return membership
    if not active and _last_owner(membership):
        raise StaffRuleBroken(gettext("The shop needs an active owner: this is the last one."))
    membership.is_active = active
    membership.save(update_fields=["is_active"])
    revoked = 0
    if not active:
        revoked = _revoke_tokens(membership)
        if own_login(membership):
            end_sessions(membership.user)
    _log(membership, actor, "activated" if active else "deactivated", tokens_revoked=revoked)
    return membership


def end_sessions(user) -> int:
    """Log the person out everywhere (database sessions carry the user id in their data). The rows go with the
    caller's transaction; the cached copies once it commits, so no request can cache a row again meanwhile."""
    ended = [
        session.session_key
        for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator()
        if str(session.get_decoded().get("_auth_user_id")) == str(user.pk)
    ]
    Session.objects.filter(session_key__in=ended).delete()
    store = import_module(settings.SESSION_ENGINE).SessionStore
    # robust: with Redis away a cached copy outlives its row, but the membership read on every request shuts it out
    transaction.on_commit(lambda: [store(session_key=key).delete() for key in ended], robust=True)
    return len(ended)


@transaction.atomic
def password_link(*, membership: Membership, actor, actor_role: str) -> str:
    """A one-time link (valid until used or the password changes) for the person to set a password."""
    _check(actor, actor_role, membership)
    if not own_login(membership):
        raise StaffRuleBroken(
            gettext("%(username)s also works for another shop and keeps their own password.")
            % {"username": membership.user.username}
        )
    _log(membership, actor, "password_link")
    return password_path(membership.user)


class PasswordLinkTokens(PasswordResetTokenGenerator):
    """Django's one-time tokens, also bound to the shops the person actively works for: a link stops working when
    they are deactivated, or when their login comes to work for another shop too (no longer the issuing shop's to
    set a password for, see own_login)."""

    def _make_hash_value(self, user, timestamp):
        shops = ",".join(str(row[0]) for row in rls.system_rows(system.member_tenants, user.pk))
        return f"{super()._make_hash_value(user, timestamp)}|{shops}"


password_links = PasswordLinkTokens()


def password_path(user) -> str:
    """The path of a one-time link for `user` to set a password: valid until used or the password changes."""
    return reverse(
        "password_reset_confirm",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": password_links.make_token(user),
        },
    )


@transaction.atomic
def email_password_link(*, membership: Membership, actor, actor_role: str, language: str) -> str:
    """A one-time link sent to the person's e-mail by a task after commit (no network in the transaction);
    answers the address it goes to."""
    _check(actor, actor_role, membership)
    if not own_login(membership):
        raise StaffRuleBroken(
            gettext("%(username)s also works for another shop and keeps their own password.")
            % {"username": membership.user.username}
        )
    email = membership.user.email
    if not email:
        raise StaffRuleBroken(
            gettext("%(username)s has no e-mail address; give them the link yourself.")
            % {"username": membership.user.username}
        )
    _log(membership, actor, "password_link_emailed", to=email)
    from . import events
    from .tasks import email_password_link as task

    transaction.on_commit(lambda: events.send_task(task, membership.pk, membership.tenant_id, language))
    return email
