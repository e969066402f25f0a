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


def test_axis_labels_are_in_the_readers_number_format():
    from django.utils import translation

    from analytics.charts import bar_chart

    chart = bar_chart([{"label": "a", "value": 2500}])
    with translation.override("ru"):
        russian = [t["label"] for t in bar_chart([{"label": "a", "value": 2500}])["y_ticks"]]
    assert "2.5k" in [t["label"] for t in chart["y_ticks"]]
    assert "2,5 тыс." in russian and not [label for label in russian if "." in label.replace("тыс.", "")]
