"""SQL kept in files (an app's sql/ folder), one source each: migrations install a file as it is.

A migration that installs a file says so with the file's checksum in its module's `INSTALLS`; changing a file
therefore takes a new migration that installs it again. tests/oms/test_sql_files.py holds each file's newest pin to
the file, and the database's functions to the file's text.
"""

import hashlib
import re
from pathlib import Path

from django.db import migrations

ROOT = Path(__file__).resolve().parent.parent
FUNCTION = re.compile(r"CREATE OR REPLACE FUNCTION (\w+)\(.*?\$body\$(.*?)\$body\$", re.S)


def read(path: str) -> str:
    """The text of a file named from the project's root, e.g. 'inventory/sql/reserve.sql'."""
    return (ROOT / path).read_text()


def checksum(path: str) -> str:
    return hashlib.sha256(read(path).encode()).hexdigest()


def function_bodies(path: str) -> dict[str, str]:
    """Function name → its body (between the $body$ quotes) as the file defines it: what pg_proc.prosrc holds."""
    return {match.group(1): match.group(2) for match in FUNCTION.finditer(read(path))}


def install(path: str) -> migrations.RunSQL:
    """The operation that runs the file as it is now. Going back leaves its functions in place: the migration it
    followed installed an older text of the same signatures, which the next forward run replaces again."""
    return migrations.RunSQL(read(path), migrations.RunSQL.noop)
