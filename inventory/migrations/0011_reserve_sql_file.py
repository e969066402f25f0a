"""The reservation rule comes from one file, inventory/sql/reserve.sql: the general statement of 0003 and the
shorter one for a single demand that inventory.services ran on its own are now one function."""

from django.db import migrations

from inventory import sqlfiles

# What this migration installs (see inventory/sqlfiles.py): a change to the file needs a new migration.
INSTALLS = {"reserve.sql": "60564596460d5a930042dec87792c598bcb35e6a548016ac4b02c7a7ad6b664b"}


class Migration(migrations.Migration):
    dependencies = [("inventory", "0010_categories_and_cost")]

    operations = [sqlfiles.install("reserve.sql")]
