"""SQL that lives in files of inventory/sql/, one source each: migrations install a file as it is.

A migration that installs a file names it with the file's checksum in `INSTALLS`; changing a file therefore takes a
new migration that installs it again (tests/inventory/test_reserve_sql.py holds the newest pin to the file and the
database's copy to the file).
"""

import hashlib
import re
from pathlib import Path

from django.db import migrations

SQL_DIR = Path(__file__).resolve().parent / "sql"


def read(name: str) -> str:
    return (SQL_DIR / name).read_text()


def checksum(name: str) -> str:
    return hashlib.sha256(read(name).encode()).hexdigest()


def function_bodies(name: str) -> dict[str, str]:
    """Function name → its body (between the $body$ quotes) as the file defines it: what pg_proc.prosrc holds."""
    pattern = re.compile(r"CREATE OR REPLACE FUNCTION (\w+)\(.*?\$body\$(.*?)\$body\$", re.S)
    return {match.group(1): match.group(2) for match in pattern.finditer(read(name))}


def install(name: str) -> migrations.RunSQL:
    """The operation that runs the file as it is now. Going back leaves the functions in place: the migration it
    replaced installed an older text of the same signatures, which the next forward run replaces again."""
    return migrations.RunSQL(read(name), migrations.RunSQL.noop)
