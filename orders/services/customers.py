"""Customers: recognised by normalised phone, then e-mail; merged when they turn out to be one person."""

import re

from django.db import IntegrityError, transaction

from oms.db import broken_constraint

from ..errors import InvalidCustomer
from ..models import ContactKind, Customer, CustomerContact, Order

_NOT_DIGITS = re.compile(r"\D+")


def normalize_phone(phone: str) -> str:
    """Digits only, with a leading 8 of an 11-digit number read as the country code 7 (common local habit)."""
    digits = _NOT_DIGITS.sub("", phone or "")
    if len(digits) == 11 and digits.startswith("8"):
        digits = "7" + digits[1:]
    return digits


def normalize_email(email: str) -> str:
    return (email or "").strip().lower()


def find_customer(*, tenant, phone: str = "", email: str = "") -> Customer | None:
    for kind, normalized in ((ContactKind.PHONE, normalize_phone(phone)), (ContactKind.EMAIL, normalize_email(email))):
        if not normalized:
            continue
        contact = (
            CustomerContact.objects.filter(tenant=tenant, kind=kind, normalized=normalized)
            .select_related("customer")
            .first()
        )
        if contact is not None:
            return contact.customer
    return None


def _add_contact(customer: Customer, kind: str, value: str, normalized: str) -> None:
    if not normalized:
        return
    try:
        with transaction.atomic():
            CustomerContact.objects.get_or_create(
                tenant_id=customer.tenant_id,
                kind=kind,
                normalized=normalized,
                defaults={"customer": customer, "value": value},
            )
    except IntegrityError as exc:
        if broken_constraint(exc) != "contact_unique_per_tenant":
            raise
        # another customer got it concurrently; matching keeps the first


def match_or_create_customer(*, tenant, name: str, phone: str = "", email: str = "", address: str = "") -> Customer:
    """The tenant's customer with this phone (then e-mail), or a new one. New contacts are remembered."""
    customer = find_customer(tenant=tenant, phone=phone, email=email)
    if customer is None:
        customer = Customer.objects.create(
            tenant=tenant,
            name=name.strip() or "Customer",
            phone=phone.strip(),
            email=normalize_email(email),
            address=address.strip(),
        )
    _add_contact(customer, ContactKind.PHONE, phone.strip(), normalize_phone(phone))
    _add_contact(customer, ContactKind.EMAIL, email.strip(), normalize_email(email))
    return customer


@transaction.atomic
def update_customer(
    *, customer: Customer, name: str, phone: str, email: str, address: str, notes: str, tags: list[str]
) -> Customer:
    customer.name, customer.phone, customer.email = name.strip(), phone.strip(), normalize_email(email)
    customer.address, customer.notes = address.strip(), notes
    customer.tags = sorted({t.strip().upper() for t in tags if t.strip()})
    customer.save()
    _add_contact(customer, ContactKind.PHONE, phone.strip(), normalize_phone(phone))
    _add_contact(customer, ContactKind.EMAIL, email.strip(), normalize_email(email))
    return customer


def tag_customer(*, customer: Customer, tag: str) -> Customer:
    tag = tag.strip().upper()
    if tag and tag not in customer.tags:
        customer.tags = sorted([*customer.tags, tag])
        customer.save(update_fields=["tags"])
    return customer


@transaction.atomic
def merge_customers(*, keep: Customer, duplicate: Customer) -> Customer:
    """Move the duplicate's orders, contacts and tags to `keep`; the duplicate stays as a pointer."""
    if keep.pk == duplicate.pk or keep.tenant_id != duplicate.tenant_id:
        raise InvalidCustomer("Choose two different customers of the same shop.")
    Order.objects.filter(tenant_id=keep.tenant_id, customer=duplicate).update(customer=keep)
    CustomerContact.objects.filter(tenant_id=keep.tenant_id, customer=duplicate).update(customer=keep)
    keep.tags = sorted(set(keep.tags) | set(duplicate.tags))
    keep.notes = "\n".join(filter(None, [keep.notes, duplicate.notes]))
    keep.save()
    duplicate.merged_into = keep
    duplicate.save(update_fields=["merged_into"])
    return keep
