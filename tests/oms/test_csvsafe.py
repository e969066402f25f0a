import io
from decimal import Decimal

import pytest

from oms import csvsafe


@pytest.mark.parametrize("text", ['=HYPERLINK("http://x")', "+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"])
def test_text_that_a_spreadsheet_would_run_gets_a_leading_apostrophe(text):
    assert csvsafe.neutralise(text) == "'" + text


@pytest.mark.parametrize("value", [-5, Decimal("-5.00"), -1.5, 0, None, True, "Ann", "", "a=b", " =1"])
def test_numbers_and_ordinary_text_stay_as_they_are(value):
    assert csvsafe.neutralise(value) is value


def test_the_writer_neutralises_every_cell():
    out = io.StringIO()
    csvsafe.writer(out).writerows([["=1+1", -5, Decimal("-2.50"), "Ann"]])
    assert out.getvalue() == "'=1+1,-5,-2.50,Ann\r\n"
