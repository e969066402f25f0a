"""The staff screen: who works in the shop, with which role; add, change, deactivate, password links."""

from django import forms
from django.core.paginator import Paginator
from django.db.models import Q
from django.shortcuts import redirect, render
from django.utils.translation import get_language, gettext, gettext_lazy
from django.views.decorators.http import require_POST

from . import staff
from .models import Membership, Role, StaffChange
from .pages import run_service
from .tenancy.roles import OWNER, SETTINGS, role_required
from .tenancy.shortcuts import get_for_tenant_or_404

PER_PAGE = 50
AUDIT_ROLE_KEYS = ("role", "before", "after")


class StaffForm(forms.Form):
    username = forms.CharField(label=gettext_lazy("Login"), max_length=150)
    # the user table's column: a longer address that passes the e-mail check would fail at the database
    email = forms.EmailField(label=gettext_lazy("E-mail"), required=False, max_length=254)
    role = forms.ChoiceField(label=gettext_lazy("Role"), choices=Role.choices, initial=Role.MANAGER)


def _roles_for(actor_role: str) -> list[tuple[str, str]]:
    return [(value, label) for value, label in Role.choices if actor_role == OWNER or value != Role.OWNER]


def _page(request, form=None, link=None, link_member=None):
    query = request.GET.get("q", "").strip()[:100]
    members = Membership.objects.filter(tenant=request.tenant).select_related("user")
    if query:
        # An e-mail is searched only where it is shown: a login of this shop's own (see staff.own_logins).
        searchable = staff.own_logins(request.tenant.pk, [member.user for member in members])
        members = members.filter(
            Q(user__username__icontains=query) | Q(user__email__icontains=query, user_id__in=searchable)
        )
    page = Paginator(members.order_by("-is_active", "role", "user__username"), PER_PAGE).get_page(
        request.GET.get("page")
    )
    own = staff.own_logins(request.tenant.pk, [member.user for member in page.object_list])
    for member in page.object_list:
        member.manageable = member.user_id != request.user.pk and (request.role == OWNER or member.role != Role.OWNER)
        member.own_login = member.user_id in own
    form = form or StaffForm()
    form.fields["role"].choices = _roles_for(request.role)
    context = {
        "page": page,
        "query": query,
        "form": form,
        "roles": _roles_for(request.role),
        "link": link,
        "link_member": link_member,
    }
    return render(request, "oms/staff.html", context)


@role_required(*SETTINGS)
def staff_list(request):
    form = StaffForm(request.POST or None)
    if request.method == "POST":
        form.fields["role"].choices = _roles_for(request.role)
        if form.is_valid():
            data = form.cleaned_data
            ok, membership = run_service(
                request,
                lambda actor: staff.add_staff(
                    tenant=request.tenant, actor=request.user, actor_role=request.role, **data
                ),
                success=lambda m: (
                    gettext("%(name)s added as %(role)s.") % {"name": m.user.username, "role": m.get_role_display()}
                ),
                form=form,
            )
            if ok and staff.own_login(membership):
                link = staff.password_link(membership=membership, actor=request.user, actor_role=request.role)
                return _page(request, link=request.build_absolute_uri(link), link_member=membership)
            if ok:
                return redirect("oms:staff")
    return _page(request, form=form)


def _member(request, pk) -> Membership:
    return get_for_tenant_or_404(Membership.objects.select_related("user"), request.tenant, pk=pk)


@require_POST
@role_required(*SETTINGS)
def staff_role(request, pk):
    membership = _member(request, pk)
    role = request.POST.get("role", "")
    run_service(
        request,
        lambda actor: staff.change_role(membership=membership, actor=request.user, actor_role=request.role, role=role),
        success=lambda m: (
            gettext("%(name)s is now %(role)s.") % {"name": m.user.username, "role": m.get_role_display()}
        ),
    )
    return redirect("oms:staff")


@require_POST
@role_required(*SETTINGS)
def staff_active(request, pk):
    membership = _member(request, pk)
    active = request.POST.get("active") == "1"
    run_service(
        request,
        lambda actor: staff.set_active(
            membership=membership, actor=request.user, actor_role=request.role, active=active
        ),
        success=lambda m: (
            (
                gettext("%(name)s can work again.")
                if active
                else gettext("%(name)s is deactivated: signed out, tokens revoked.")
            )
            % {"name": m.user.username}
        ),
    )
    return redirect("oms:staff")


@require_POST
@role_required(*SETTINGS)
def staff_password_link(request, pk):
    membership = _member(request, pk)
    ok, link = run_service(
        request,
        lambda actor: staff.password_link(membership=membership, actor=request.user, actor_role=request.role),
    )
    if not ok:
        return redirect("oms:staff")
    return _page(request, link=request.build_absolute_uri(link), link_member=membership)


@require_POST
@role_required(*SETTINGS)
def staff_password_email(request, pk):
    membership = _member(request, pk)
    run_service(
        request,
        lambda actor: staff.email_password_link(
            membership=membership, actor=request.user, actor_role=request.role, language=get_language()
        ),
        success=lambda email: (
            gettext("A one-time link to set a password is on its way to %(email)s.") % {"email": email}
        ),
    )
    return redirect("oms:staff")


@role_required(OWNER)
def staff_audit(request):
    changes = StaffChange.objects.filter(tenant=request.tenant).select_related("actor", "member").order_by("-at")
    page = Paginator(changes, PER_PAGE).get_page(request.GET.get("page"))
    labels = dict(Role.choices)
    for change in page.object_list:
        # the details keep role codes; the list shows the roles' names
        change.roles = {key: labels.get(change.details.get(key), change.details.get(key)) for key in AUDIT_ROLE_KEYS}
    return render(request, "oms/staff_audit.html", {"page": page})
