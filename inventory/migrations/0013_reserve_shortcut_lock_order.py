"""inventory/sql/reserve.sql again: the one-line shortcut is taken only on the product's first level in lock order,
so a failed shortcut never leaves a lock that the general statement would take out of order."""

from django.db import migrations

from oms import sqlfiles

# What this migration installs (see oms/sqlfiles.py): a change to the file needs a new migration.
INSTALLS = {"inventory/sql/reserve.sql": "f449ce66975d25e0415ec7f9768360540e80c9230a3e2deb3d02d09cbb07be1f"}


class Migration(migrations.Migration):
    dependencies = [("inventory", "0012_transfer_closing")]

    operations = [sqlfiles.install("inventory/sql/reserve.sql")]
