"""A tenant's data as one archive (its owner's right), and its removal (a superuser's command).

Both work on every table with a `tenant_id` column, found through the app registry, so a new model is covered
without touching this module.
"""

import datetime
import io
import json
import tempfile
import zipfile

from django.apps import apps
from django.core.files import File
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext
from simple_history.models import HistoricalChanges

from . import csvsafe, replica, rls
from .jobs import JobResult
from .models import Tenant
from .tenancy.setup import finalize_tenant


def _tenant_models():
    return [
        model
        for model in apps.get_models(include_auto_created=True)
        if "tenant_id" in {f.attname for f in model._meta.concrete_fields} and model._meta.managed
    ]


def _dependent_links():
    """(table, column, tenant table) for tables without tenant_id that point at tenant rows (e.g. EventHandled)."""
    tenant_tables = {m._meta.db_table for m in _tenant_models()}
    links = []
    for model in apps.get_models(include_auto_created=True):
        if model._meta.db_table in tenant_tables or model is Tenant or not model._meta.managed:
            continue
        for field in model._meta.concrete_fields:
            target = getattr(field, "related_model", None)
            if target is not None and target._meta.db_table in tenant_tables:
                links.append((model._meta.db_table, field.column, target._meta.db_table))
    return links


def tenant_data_counts(tenant: Tenant) -> dict[str, int]:
    """Rows that deleting the tenant would remove, per table (the command's dry run)."""
    counts = {}
    with rls.tenant_context(tenant.pk), connection.cursor() as cursor:
        for model in _tenant_models():
            table = connection.ops.quote_name(model._meta.db_table)
            cursor.execute(f"SELECT count(*) FROM {table} WHERE tenant_id = %s", [tenant.pk])  # noqa: S608
            counts[model._meta.db_table] = cursor.fetchone()[0]
        for table, column, target in _dependent_links():
            cursor.execute(
                f"SELECT count(*) FROM {connection.ops.quote_name(table)} WHERE {connection.ops.quote_name(column)} "  # noqa: S608
                f"IN (SELECT id FROM {connection.ops.quote_name(target)} WHERE tenant_id = %s)",
                [tenant.pk],
            )
            counts[table] = counts.get(table, 0) + cursor.fetchone()[0]
    return {table: count for table, count in sorted(counts.items()) if count}


@transaction.atomic
def delete_tenant(tenant: Tenant) -> dict[str, int]:
    """Remove every row of the tenant, what apps keep for it elsewhere (their finalizers), and the tenant itself.
    Foreign keys are deferred to commit, so order is free."""
    counts = tenant_data_counts(tenant)
    with rls.tenant_context(tenant.pk), connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        for table, column, target in _dependent_links():
            cursor.execute(
                f"DELETE FROM {connection.ops.quote_name(table)} WHERE {connection.ops.quote_name(column)} "  # noqa: S608
                f"IN (SELECT id FROM {connection.ops.quote_name(target)} WHERE tenant_id = %s)",
                [tenant.pk],
            )
        for model in _tenant_models():
            cursor.execute(
                f"DELETE FROM {connection.ops.quote_name(model._meta.db_table)} WHERE tenant_id = %s",  # noqa: S608
                [tenant.pk],
            )
        finalize_tenant(tenant)
        cursor.execute("DELETE FROM oms_tenant WHERE id = %s", [tenant.pk])
    return counts


# Never in the owner's export: credentials of the shop's integrations, hashes that exist only to check a secret,
# and what only describes them. Keyed by model label; tests/oms/test_lifecycle.py fails when an exported column
# is named like a secret.
SECRET_FIELDS = {
    "shipments.Carrier": {"token"},
    "notifications.WebhookEndpoint": {"secret", "previous_secret", "previous_secret_expires_at"},
    "oms.ApiToken": {"token_hash"},
    "oms.IdempotencyKey": {"request_hash"},
}
EXPORT_CHUNK_ROWS = 2000


def exported_fields(model) -> list:
    secret = SECRET_FIELDS.get(model._meta.label, set())
    return [field for field in model._meta.concrete_fields if field.name not in secret]


def _export_cell(value):
    """Text for what has no CSV form of its own; numbers stay numbers so the CSV writer leaves them alone."""
    if value is None:
        return ""
    if isinstance(value, dict | list):  # JSON and array columns
        return json.dumps(value, ensure_ascii=False, default=str)
    if isinstance(value, bytes | memoryview):
        return "\\x" + bytes(value).hex()
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    return value


def export_tenant(tenant: Tenant, target, progress=None) -> dict[str, int]:
    """Write a ZIP to `target`: one CSV per table of the tenant (history excluded) and a manifest.

    Secret columns are left out and text cells that a spreadsheet would run as a formula are neutralised.
    `progress(percent, step)` is told as each table starts.
    """
    counts = {}
    models = [model for model in _tenant_models() if not issubclass(model, HistoricalChanges)]
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        # From the read replica when there is one: a long read that can be a moment old (oms/replica.py).
        with replica.replica_reads() as database, transaction.atomic(using=database), rls.tenant_context(tenant.pk):
            for number, model in enumerate(models):
                if progress is not None:
                    progress(
                        number * 100 // len(models),
                        gettext("Exporting %(what)s") % {"what": model._meta.verbose_name_plural},
                    )
                table = model._meta.db_table
                fields = exported_fields(model)
                rows = (
                    model._base_manager.filter(tenant_id=tenant.pk)
                    .order_by("pk")
                    .values_list(*[field.attname for field in fields])
                    .iterator(chunk_size=EXPORT_CHUNK_ROWS)
                )
                counts[table] = 0
                with (
                    archive.open(f"{table}.csv", "w") as raw,
                    io.TextIOWrapper(raw, encoding="utf-8", newline="") as text,
                ):
                    writer = csvsafe.writer(text)
                    writer.writerow([field.column for field in fields])
                    for row in rows:
                        writer.writerow([_export_cell(value) for value in row])
                        counts[table] += 1
        manifest = {
            "tenant": tenant.slug,
            "name": tenant.name,
            "exported_at": timezone.now().isoformat(),
            "rows": counts,
        }
        archive.writestr("manifest.json", json.dumps(manifest, indent=2))
    return counts


EXPORT_JOB = "export"


def export_job(tenant: Tenant, progress) -> JobResult:
    """The owner's export as a job: the ZIP is kept as the job's file (private storage) for download."""
    archive = tempfile.TemporaryFile()  # noqa: SIM115 - the job's file takes a copy; closed below
    try:
        counts = export_tenant(tenant, archive, progress)
        archive.seek(0)
        return JobResult(
            summary=gettext("%(rows)s rows from %(tables)s tables.")
            % {"rows": f"{sum(counts.values()):,}", "tables": len(counts)},
            file=File(archive),
            filename=f"{tenant.slug}-export-{timezone.now():%Y%m%d-%H%M}.zip",
        )
    except BaseException:
        archive.close()
        raise
