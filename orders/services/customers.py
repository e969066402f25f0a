"""Customers: recognised by normalised phone, then e-mail; merged when they turn out to be one person."""

import re

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext

from oms.db import HotQuery, HotRead, RowsInsert

from .. import locks
from ..errors import InvalidMerge
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


def contacts_given(phone: str, email: str) -> list[tuple[str, str, str]]:
    """(kind, value, normalised) of the contacts given, phone first: the order in which they identify a customer."""
    contacts = [
        (ContactKind.PHONE, (phone or "").strip(), normalize_phone(phone)),
        (ContactKind.EMAIL, (email or "").strip(), normalize_email(email)),
    ]
    return [contact for contact in contacts if contact[2]]


# Every order taken asks it (the unique index on the shop, kind and value answers it). One parameter per kind, not
# arrays: PostgreSQL then sees the generic plan (two probes of that index) as no dearer than one made for the
# values, keeps it after five runs and stops planning the statement on every order.
_contacts_with_customers = HotQuery(
    lambda tenant_id, phone, email: CustomerContact.objects.filter(
        Q(kind=ContactKind.PHONE, normalized=phone) | Q(kind=ContactKind.EMAIL, normalized=email), tenant_id=tenant_id
    ).select_related("customer"),
    prepared=True,
    tenant_id=-7_301_006,
    phone="sample-phone",
    email="sample-email",
)


# Every order from a new customer writes these.
_write_customers = RowsInsert(Customer, saved=True)
_write_contacts = RowsInsert(CustomerContact, ignore_conflicts=True, unanswered=True)


def known_contacts_read(tenant, contacts) -> HotRead:
    """The read of the tenant's contacts among these, with their customers (phone and e-mail in one query), for
    `known_contacts`. No contact is stored empty, so a kind not given finds nothing."""
    given = {kind: normalized for kind, _, normalized in contacts}
    return _contacts_with_customers.with_values(
        tenant_id=tenant.pk, phone=given.get(ContactKind.PHONE, ""), email=given.get(ContactKind.EMAIL, "")
    )


def known_contacts(found) -> dict[tuple[str, str], CustomerContact]:
    return {(c.kind, c.normalized): c for c in found}


def matched_customer(contacts, known) -> Customer | None:
    """The customer of the first contact known, in the order in which contacts identify a customer."""
    return next((known[kind, norm].customer for kind, _, norm in contacts if (kind, norm) in known), None)


def remember_contacts(customer: Customer, contacts, known=()) -> None:
    """Add the contacts not known yet, in one statement. One another customer took meanwhile stays theirs (the
    unique constraint skips it): matching keeps the first."""
    new = [
        CustomerContact(tenant_id=customer.tenant_id, customer=customer, kind=kind, value=value, normalized=normalized)
        for kind, value, normalized in contacts
        if (kind, normalized) not in known
    ]
    if new:
        _write_contacts(new)


def add_customer(*, tenant, customer_id: int, name: str, phone: str = "", email: str = "", address: str = ""):
    """A new customer of the tenant, as given, with the id taken for it (`next_order_keys`): nobody waits for the
    row, which goes ahead of the next statement with its history row."""
    customer = Customer(
        id=customer_id,
        tenant=tenant,
        name=name.strip() or "Customer",
        phone=phone.strip(),
        email=normalize_email(email),
        address=address.strip(),
    )
    (customer,) = _write_customers([customer], ahead=True)
    return customer


@transaction.atomic
def update_customer(
    *, customer: Customer, name: str, phone: str, email: str, address: str, notes: str, tags: list[str]
) -> Customer:
    customer.name, customer.phone, customer.email = name.strip(), phone.strip(), normalize_email(email)
    customer.address, customer.notes = address.strip(), notes
    customer.tags = sorted({t.strip().upper() for t in tags if t.strip()})
    customer.save()
    remember_contacts(customer, contacts_given(phone, email))
    return customer


def tag_customer(*, customer: Customer, tag: str) -> Customer:
    tag = tag.strip().upper()
    if tag and tag not in customer.tags:
        customer.tags = sorted([*customer.tags, tag])
        customer.save(update_fields=["tags"])
    return customer


MERGE_ATTEMPTS = 3
CHAIN_LIMIT = 1000  # merges repoint, so a pointer is one step; this only stops a loop left by older data


def survivor_or_none(customer: Customer) -> Customer | None:
    """The live customer a merged one stands for; None when its merge records loop (left by older data)."""
    try:
        return final_customer(customer)
    except InvalidMerge:
        return None


def final_customer(customer: Customer) -> Customer:
    """The live customer that `customer` is now: itself, or the one it was merged into (read fresh)."""
    seen = set()
    current = Customer.objects.get(tenant_id=customer.tenant_id, pk=customer.pk)
    while current.merged_into_id is not None:
        seen.add(current.pk)
        if current.merged_into_id in seen or len(seen) > CHAIN_LIMIT:
            raise InvalidMerge(
                gettext("Customer #%(customer)s's merge records go round in a loop; ask support to fix them.")
                % {"customer": customer.pk}
            )
        current = Customer.objects.get(tenant_id=customer.tenant_id, pk=current.merged_into_id)
    return current


@transaction.atomic
def merge_customers(*, keep: Customer, duplicate: Customer) -> Customer:
    """Move the duplicate's orders, contacts, tags and notes to `keep`; the duplicate stays as a pointer to it.

    A customer merged earlier stands for the one it was merged into, so both sides are first resolved to live
    customers, and merging a customer into itself is refused. Both are locked and must still be live under
    the lock (a concurrent merge resolves again), and customers that pointed at the duplicate are repointed:
    `merged_into` never forms a loop and always points straight at a live customer.
    """
    if keep.tenant_id != duplicate.tenant_id:
        raise InvalidMerge(gettext("Choose two customers of the same shop."))
    for _ in range(MERGE_ATTEMPTS):
        survivor, absorbed = final_customer(keep), final_customer(duplicate)
        if survivor.pk == absorbed.pk:
            raise InvalidMerge(_same_customer_message(keep, duplicate, survivor))
        locked = locks.lock_customers(survivor, absorbed)
        if all(customer.merged_into_id is None for customer in locked.values()):
            break
    else:
        raise InvalidMerge(gettext("These customers are being merged by someone else right now. Try again."))
    survivor, absorbed = locked[survivor.pk], locked[absorbed.pk]
    tenant_id = survivor.tenant_id
    # The orders changed: the analytics refresh and the API's `updated_since` read `updated_at`.
    Order.objects.filter(tenant_id=tenant_id, customer=absorbed).update(customer=survivor, updated_at=timezone.now())
    CustomerContact.objects.filter(tenant_id=tenant_id, customer=absorbed).update(customer=survivor)
    Customer.objects.filter(tenant_id=tenant_id, merged_into=absorbed).update(merged_into=survivor)
    survivor.tags = sorted(set(survivor.tags) | set(absorbed.tags))
    survivor.notes = "\n".join(filter(None, [survivor.notes, absorbed.notes]))
    survivor.save()
    absorbed.merged_into = survivor
    absorbed.save(update_fields=["merged_into"])
    return survivor


def _same_customer_message(keep: Customer, duplicate: Customer, survivor: Customer) -> str:
    if keep.pk == duplicate.pk:
        return gettext("A customer cannot be merged into itself. Choose another customer.")
    return gettext(
        "Customers #%(keep)s and #%(duplicate)s are already one customer (#%(survivor)s, %(name)s): nothing to merge."
    ) % {"keep": keep.pk, "duplicate": duplicate.pk, "survivor": survivor.pk, "name": survivor.name}
