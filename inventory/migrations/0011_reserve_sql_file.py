"""The reservation rule comes from one file, inventory/sql/reserve.sql: the general statement of 0003 and the
shorter one for a single demand that inventory.services ran on its own are now one function."""

from django.db import migrations

from oms import sqlfiles

# What this migration installs (see oms/sqlfiles.py): a change to the file needs a new migration.
INSTALLS = {"inventory/sql/reserve.sql": "b3b11943549c7e4a399daa7158ea5004e9227b1ca1589e420c82aa8898b449c2"}


class Migration(migrations.Migration):
    dependencies = [("inventory", "0010_categories_and_cost")]

    operations = [sqlfiles.install("inventory/sql/reserve.sql")]
