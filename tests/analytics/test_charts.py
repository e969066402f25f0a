from decimal import Decimal

from analytics import charts


def test_heat_classes_run_from_0_to_10():
    assert charts.heat_class(0, 100) == "heat-0"
    assert charts.heat_class(Decimal("0.5"), 100) == "heat-1"
    assert charts.heat_class(50, 100) == "heat-5"
    assert charts.heat_class(100, 100) == "heat-10"
    assert charts.heat_class(5, 0) == "heat-0"


def test_line_chart_scales_to_a_round_top_and_skips_gaps():
    chart = charts.line_chart([{"label": "a", "values": [0, 40, None, 80]}], ["m0", "m1", "m2", "m3"])
    assert chart["y_ticks"][-1]["label"] == "100"
    (line,) = chart["lines"]
    assert len(line["points"].split()) == 3  # the missing value leaves no point
    assert chart["x_ticks"][-1]["anchor"] == "end"


def test_bar_chart_shortens_labels_that_would_overlap():
    bars = charts.bar_chart([{"label": f"manager-with-a-long-name-{i}", "value": i + 1} for i in range(10)])
    assert all(len(b["short"]) < len(b["label"]) for b in bars["bars"])
    assert bars["bars"][-1]["h"] > bars["bars"][0]["h"]
