import csv
import io
import os
import re
import zipfile
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from inventory import services as stock
from notifications.services import webhooks
from oms import jobs, rls
from oms.errors import DomainError
from oms.event_catalogue import KINDS
from oms.lifecycle import EXPORT_JOB, SECRET_FIELDS
from oms.models import Job, JobState, Role, Tenant, hash_token
from oms.services import create_api_token
from orders.catalogue import number_sequence_name
from orders.models import Order
from shipments.services.config import save_carrier
from tests.factories import WarehouseFactory
from tests.orders.helpers import place_order, stocked_product

pytestmark = pytest.mark.django_db


def test_owner_downloads_a_zip_of_the_shops_data_only(tenant, other_tenant, client_for, run_after_commit):
    ours = place_order(tenant, [(stocked_product(tenant), 2)], customer_name="Ann Ours")
    place_order(other_tenant, [(stocked_product(other_tenant), 1)], customer_name="Bob Theirs")
    archive = exported_archive(client_for(Role.OWNER), run_after_commit)
    orders_csv = archive.read("orders_order.csv").decode()
    assert ours.number in orders_csv and orders_csv.count("\n") == 2
    customers_csv = archive.read("orders_customer.csv").decode()
    assert "Ann Ours" in customers_csv and "Bob Theirs" not in customers_csv
    assert "inventory_stocklevel.csv" in archive.namelist() and "manifest.json" in archive.namelist()


@pytest.fixture
def run_after_commit(django_capture_on_commit_callbacks):
    """What the request queues after its commit runs (the task, inline) when the block ends."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def exported_archive(client, run_after_commit):
    """Start the export as the owner's button does, let its task run, and download the file it made."""
    with run_after_commit():
        started = client.post("/settings/export/", headers={"HX-Request": "true"})
    assert started.status_code == 200 and 'data-state="queued"' in started.content.decode()
    job = Job.objects.get(kind=EXPORT_JOB)
    rls.bind(job.tenant_id)
    status = client.get(reverse("oms:job", args=[job.pk])).content.decode()
    assert 'data-state="done"' in status and "hx-trigger" not in status  # done: the fragment stops polling
    response = client.get(reverse("oms:job_download", args=[job.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


def rows_of(archive, name):
    return list(csv.DictReader(io.StringIO(archive.read(name).decode())))


FORMULAS = ['=HYPERLINK("http://x")', "+1", "-2", "@SUM(A1)"]  # intake strips leading tabs and returns


def test_export_neutralises_text_cells_a_spreadsheet_would_run(tenant, client_for, run_after_commit):
    for name in FORMULAS:
        place_order(tenant, [(stocked_product(tenant), 1)], customer_name=name)
    warehouse = WarehouseFactory(tenant=tenant)
    product = stocked_product(tenant, on_hand=10, warehouse=warehouse)
    stock.write_off(tenant=tenant, warehouse=warehouse, product=product, quantity=5, reason="-damaged")
    archive = exported_archive(client_for(Role.OWNER), run_after_commit)
    names = {row["name"] for row in rows_of(archive, "orders_customer.csv")}
    assert names == {"'" + name for name in FORMULAS}
    write_off = next(row for row in rows_of(archive, "inventory_stockmove.csv") if row["kind"] == "write-off")
    assert write_off["reason"] == "'-damaged"
    assert write_off["quantity"] == "-5"  # a number stays a number


def test_export_carries_no_secret_value(tenant, client_for, settings, run_after_commit):
    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = True  # no DNS lookup for the example host
    save_carrier(tenant=tenant, kind="http", name="Fast", base_url="https://carrier.example", token="carrier-tok-5150")
    endpoint, first_secret = webhooks.create_endpoint(tenant=tenant, url="https://hooks.example/x", events=[KINDS[0]])
    current_secret = webhooks.rotate_secret(endpoint=endpoint)
    _, raw_token = create_api_token(tenant=tenant, name="shop-api")
    place_order(tenant, [(stocked_product(tenant), 1)])
    archive = exported_archive(client_for(Role.OWNER), run_after_commit)
    secrets = [
        "carrier-tok-5150",
        first_secret,
        current_secret,
        raw_token,
        hash_token(raw_token),
        # The secrets' own bytes, in case a column wraps them differently.
        first_secret.removeprefix("whsec_"),
        current_secret.removeprefix("whsec_"),
        raw_token.removeprefix("oms_"),
    ]
    for name in archive.namelist():
        content = archive.read(name).decode()
        for secret in secrets:
            assert secret not in content, f"a secret is in {name}"
    assert "https://hooks.example/x" in archive.read("notifications_webhookendpoint.csv").decode()
    assert "Fast" in archive.read("shipments_carrier.csv").decode()


SECRET_LOOKING = re.compile(r"token|secret|password|hash", re.IGNORECASE)


def test_no_exported_column_is_named_like_a_secret(tenant, client_for, run_after_commit):
    archive = exported_archive(client_for(Role.OWNER), run_after_commit)
    tables = [name for name in archive.namelist() if name.endswith(".csv")]
    assert "shipments_carrier.csv" in tables and "oms_apitoken.csv" in tables
    for name in tables:
        header = next(csv.reader(io.StringIO(archive.read(name).decode())))
        leaked = [column for column in header if SECRET_LOOKING.search(column)]
        assert not leaked, f"{name} exports {leaked}: add them to oms.lifecycle.SECRET_FIELDS"


def test_every_listed_secret_field_exists():
    from django.apps import apps

    for label, names in SECRET_FIELDS.items():
        model = apps.get_model(label)
        assert names <= {field.name for field in model._meta.concrete_fields}, label


@pytest.mark.parametrize("role", [Role.ADMIN, Role.MANAGER, Role.PACKER, Role.COURIER])
def test_only_owners_export(client_for, role):
    assert client_for(role).post("/settings/export/").status_code == 403


def test_a_second_click_joins_the_running_export_and_progress_shows(tenant, client_for):
    owner = client_for(Role.OWNER)
    first = jobs.start_job(tenant=tenant, kind=EXPORT_JOB)  # queued: its task runs after a commit that never comes
    owner.post("/settings/export/", headers={"HX-Request": "true"})
    assert Job.objects.filter(kind=EXPORT_JOB).count() == 1
    Job.objects.filter(pk=first.pk).update(state=JobState.RUNNING, started_at=timezone.now())
    jobs.Progress(first)(40, "Exporting orders")
    status = owner.get(reverse("oms:job", args=[first.pk])).content.decode()
    assert 'value="40"' in status and "Exporting orders" in status and 'hx-trigger="every 1s"' in status
    page = owner.get(reverse("oms:settings")).content.decode()
    assert "Exporting orders" in page


def test_a_job_that_fails_says_so_and_can_be_started_again(tenant, client_for, run_after_commit, monkeypatch):
    def broken(tenant, progress):
        raise DomainError("The disk is full.")

    monkeypatch.setitem(jobs._kinds, EXPORT_JOB, jobs.JobKind(label="Data export", run=broken))
    with run_after_commit():
        job = jobs.start_job(tenant=tenant, kind=EXPORT_JOB)
    job.refresh_from_db()
    assert job.state == JobState.FAILED and job.error == "The disk is full."
    status = client_for(Role.OWNER).get(reverse("oms:job", args=[job.pk])).content.decode()
    assert "The disk is full." in status
    assert jobs.start_job(tenant=tenant, kind=EXPORT_JOB).pk != job.pk


def test_export_files_are_the_owners_of_that_shop_only(tenant, other_tenant, client_for, run_after_commit):
    with run_after_commit():
        job = jobs.start_job(tenant=tenant, kind=EXPORT_JOB)
    rls.bind(tenant.pk)
    assert client_for(Role.ADMIN).get(reverse("oms:job_download", args=[job.pk])).status_code == 403
    theirs = client_for(Role.OWNER, on_tenant=other_tenant)
    assert theirs.get(reverse("oms:job_download", args=[job.pk])).status_code == 404
    assert theirs.get(reverse("oms:job", args=[job.pk])).status_code == 404


def test_files_are_purged_after_a_day(tenant, run_after_commit):
    with run_after_commit():
        job = jobs.start_job(tenant=tenant, kind=EXPORT_JOB)
    rls.bind(tenant.pk)
    job.refresh_from_db()
    path = job.result_file.path
    assert os.path.exists(path)
    assert jobs.purge_files(older_than=timezone.now() - jobs.FILES_KEPT) == 0
    assert jobs.purge_files(older_than=timezone.now() + timedelta(seconds=1)) == 1
    job.refresh_from_db()
    assert not job.result_file and not os.path.exists(path)


def test_delete_dry_run_counts_and_changes_nothing(tenant, other_tenant, capsys):
    place_order(tenant, [(stocked_product(tenant), 1)])
    place_order(tenant, [(stocked_product(tenant), 1)])
    call_command("delete_tenant", tenant.slug, dry_run=True)
    out = capsys.readouterr().out
    assert any(line.split() == ["orders_order", "2"] for line in out.splitlines())
    assert "Dry run" in out and Order.objects.filter(tenant=tenant).count() == 2


@pytest.mark.django_db(transaction=True)  # deferred foreign keys are checked at a real commit
def test_delete_needs_confirmation_then_removes_only_that_tenant(tenant, other_tenant):
    place_order(tenant, [(stocked_product(tenant), 1)])
    theirs = place_order(other_tenant, [(stocked_product(other_tenant), 1)])
    with pytest.raises(CommandError, match="--yes"):
        call_command("delete_tenant", tenant.slug)
    call_command("delete_tenant", tenant.slug, yes=True)
    assert not Tenant.objects.filter(pk=tenant.pk).exists()
    with rls.tenant_context(tenant.pk):  # the wall admits the deleted shop's rows: there are none left
        assert not Order.objects.filter(tenant_id=tenant.pk).exists()
    with rls.tenant_context(other_tenant.pk):
        assert Order.objects.filter(pk=theirs.pk).exists()
    # orders' tenant finalizer dropped the shop's number sequence; the other shop keeps its own
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT to_regclass(%s), to_regclass(%s)",
            [number_sequence_name(tenant.pk), number_sequence_name(other_tenant.pk)],
        )
        assert cursor.fetchone() == (None, number_sequence_name(other_tenant.pk))


def test_a_job_speaks_the_language_of_the_person_who_started_it(tenant, run_after_commit):
    from oms.services import set_language
    from tests.factories import make_member

    owner = make_member(tenant, Role.OWNER)
    set_language(user=owner, language="ru")
    with run_after_commit():
        job = jobs.start_job(tenant=tenant, kind=EXPORT_JOB, user=owner)
    rls.bind(tenant.pk)
    job.refresh_from_db()
    assert job.state == JobState.DONE and job.result.startswith("Строк: ")
