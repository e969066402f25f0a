"""CSV files that are safe to open in a spreadsheet: every CSV the app writes goes through `writer`.

A spreadsheet runs a cell that starts with `=`, `+`, `-` or `@` (and, in some, after a tab or carriage return)
as a formula, so a customer named `=HYPERLINK(...)` could turn an export into a phishing link or worse. Text
cells that start so get a leading apostrophe (the OWASP rule); numbers are left alone, so -5 stays a number.
"""

import csv

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value):
    """The value as a spreadsheet should show it: text that would start a formula gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class SafeWriter:
    """`csv.writer` with every cell passed through `neutralise`."""

    def __init__(self, file, **options):
        self._writer = csv.writer(file, **options)

    def writerow(self, row):
        return self._writer.writerow([neutralise(value) for value in row])

    def writerows(self, rows):
        for row in rows:
            self.writerow(row)


def writer(file, **options) -> SafeWriter:
    return SafeWriter(file, **options)
