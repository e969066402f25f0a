"""Write use cases of the core: tenants, members, API tokens."""

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext

from . import rls
from .errors import DomainError
from .locks import lock_membership
from .models import ApiToken, Membership, Preferences, Role, Tenant, hash_token
from .tenancy.setup import initialize_tenant


class TenantExists(Exception):
    pass


@transaction.atomic
def create_tenant(*, slug: str, name: str, owner_email: str = "", owner_password: str = "") -> Tenant:
    """A tenant with every app's defaults (status catalogue, matrix, ...), and its owner when asked."""
    if slugify(slug) != slug or not slug:
        raise ValidationError(f"'{slug}' is not a valid slug: use lowercase letters, digits and hyphens.")
    if Tenant.objects.filter(slug=slug).exists():
        raise TenantExists(f"A tenant with the slug '{slug}' already exists.")
    tenant = Tenant.objects.create(slug=slug, name=name)
    with rls.tenant_context(tenant.pk):  # the new tenant's rows pass its own policy
        initialize_tenant(tenant)
        if owner_email:
            user = ensure_user(username=owner_email, email=owner_email, password=owner_password)
            add_member(tenant=tenant, user=user, role=Role.OWNER)
    return tenant


@transaction.atomic
def set_round_robin(*, tenant: Tenant, enabled: bool) -> Tenant:
    tenant.round_robin_assignment = enabled
    tenant.save(update_fields=["round_robin_assignment"])
    return tenant


@transaction.atomic
def set_serve_waiting(*, tenant: Tenant, enabled: bool) -> Tenant:
    tenant.serve_waiting_on_arrival = enabled
    tenant.save(update_fields=["serve_waiting_on_arrival"])
    return tenant


def ensure_user(*, username: str, email: str = "", password: str = "", password_hash: str = ""):
    """The user of that name, created when missing (with the password, or the hash of one, else none usable)."""
    User = get_user_model()
    user = User.objects.filter(username=username).first()
    if user is None:
        if password:
            validate_password(password)
        user = User(username=username, email=email)
        if password:
            user.set_password(password)
        elif password_hash:
            user.password = password_hash
        else:
            user.set_unusable_password()
        user.save()
    return user


def add_member(*, tenant: Tenant, user, role: str) -> Membership:
    membership, _ = Membership.objects.update_or_create(
        tenant=tenant, user=user, defaults={"role": role, "is_active": True}
    )
    return membership


@transaction.atomic
def create_api_token(*, tenant: Tenant, name: str = "default", actor=None) -> tuple[ApiToken, str]:
    """A new token; the raw secret is returned once and never stored."""
    if actor is not None:
        # The request's role check may predate a deactivation that revokes the person's tokens: checked again under
        # the membership's lock, so the token is either refused or made before the revocation and revoked with it.
        membership = lock_membership(tenant_id=tenant.pk, user_id=actor.pk)
        if membership is None or not membership.is_active:
            raise DomainError(gettext("You no longer work in this shop."))
        if membership.role not in (Role.OWNER, Role.ADMIN):  # moved below admin meanwhile: their tokens are revoked
            raise DomainError(gettext("Only the shop's owners and admins make API tokens."))
    raw = ApiToken.generate()
    token = ApiToken.objects.create(
        tenant=tenant, name=name or "default", prefix=raw[:12], token_hash=hash_token(raw), created_by=actor
    )
    return token, raw


def revoke_api_token(*, token: ApiToken) -> ApiToken:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


def set_language(*, user, language: str) -> Preferences:
    """The person's interface language, in every shop; refused when it is not one the interface ships in."""
    from django.conf import settings
    from django.utils.translation import gettext

    if language not in dict(settings.LANGUAGES):
        raise DomainError(gettext("Choose one of the languages offered."), field="language")
    preferences, _ = Preferences.objects.update_or_create(user=user, defaults={"language": language})
    return preferences
