"""Owners' report screens. Each page: filters → one report selector (one SQL query) → table, chart, CSV."""

from collections.abc import Callable

from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from oms import csvsafe, jobs, replica
from oms.pages import job_answer, job_context, run_service
from oms.tenancy.roles import OWNER, role_required

from . import charts, reports, services, splits
from .forms import AnalyticsSettingsForm, ReportFilterForm

TABS = [
    ("analytics:home", _("Overview")),
    ("analytics:cohorts", _("Cohorts")),
    ("analytics:ltv", _("Lifetime value")),
    ("analytics:flow", _("Order flow")),
    ("analytics:sla", _("SLA breaches")),
    ("analytics:splits", _("Split-offs")),
    ("analytics:margins", _("Margins")),
    ("analytics:settings", _("Settings")),
]


def _duration(seconds: float) -> str:
    if seconds < 3600:
        return gettext("%(count)s min") % {"count": number_format(seconds / 60, 0)}
    if seconds < 86400 * 2:
        return gettext("%(count)s h") % {"count": number_format(seconds / 3600, 1)}
    return gettext("%(count)s d") % {"count": number_format(seconds / 86400, 1)}


def _period_label(day, period: str) -> str:
    return day.strftime("%Y-%m") if period == "month" else day.strftime("%Y-%m-%d")


def _csv(filename: str, header: list[str], rows) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csvsafe.writer(response)  # channel, status and user names are shop-typed text
    writer.writerow(header)
    writer.writerows(rows)
    return response


def _render_report(
    request,
    *,
    page: str,
    default_days: int,
    build: Callable[[object, reports.ReportFilters], dict],
    tables: dict[str, Callable[[dict], tuple[list, list]]],
):
    """The shared shape of a report page: parse filters, build once, answer as page, htmx partial or CSV."""
    form = ReportFilterForm(request.GET or None, channels=reports.channels(request.tenant), default_days=default_days)
    filters = form.filters()
    with reports.report_transaction() as database:
        context = {"filter_form": form, "filters": filters, "tabs": TABS, "page": page, **build(request, filters)}
        context["freshness"] = replica.freshness(database)
    if request.GET.get("format") == "csv":
        table = request.GET.get("table") or next(iter(tables))
        if table not in tables:
            raise Http404("No such table.")
        header, rows = tables[table](context)
        stamp = timezone.localdate().isoformat()
        return _csv(f"{page}-{table}-{stamp}.csv", header, rows)
    query = request.GET.copy()
    query.pop("format", None)
    query.pop("table", None)
    context["query"] = query.urlencode()
    template = f"analytics/{page}.html"
    if request.htmx and not request.htmx.boosted:
        template += "#report"
    return render(request, template, context)


# --- overview: revenue by channel --------------------------------------------------------------------------


def _overview(request, filters):
    summary = reports.summary_state(request.tenant)
    report = reports.channel_report(tenant=request.tenant, filters=filters, as_of=summary["refreshed_at"])
    return {
        "report": report,
        "summary": summary,
        "channel_chart": charts.bar_chart([{"label": r["channel"], "value": r["revenue"]} for r in report.channels]),
        "month_chart": charts.line_chart(
            [{"label": "Revenue", "values": [m["revenue"] for m in report.months]}],
            [m["month"].strftime("%Y-%m") for m in report.months],
        ),
    }


OVERVIEW_TABLES = {
    "channels": lambda c: (
        ["channel", "purchases", "new_customers", "revenue", "average_order_value", "revenue_share_percent"],
        [
            [r["channel"], r["purchases"], r["customers"], r["revenue"], r["aov"], r["share"]]
            for r in c["report"].channels
        ],
    ),
    "months": lambda c: (
        ["month", "purchases", "revenue"],
        [[m["month"].strftime("%Y-%m"), m["purchases"], m["revenue"]] for m in c["report"].months],
    ),
}


@vary_on_headers("HX-Request")
@role_required(OWNER)
def home(request):
    return _render_report(request, page="home", default_days=365, build=_overview, tables=OVERVIEW_TABLES)


# --- cohorts and lifetime value ----------------------------------------------------------------------------


def _cohorts(request, filters):
    summary = reports.summary_state(request.tenant)
    report = reports.cohort_report(tenant=request.tenant, filters=filters, as_of=summary["refreshed_at"])
    metric = filters.metric
    for row in report.rows:
        row.label = _period_label(row.cohort, report.period)
        for cell in row.cells:
            value = cell["share"] if metric == "customers" else cell["revenue_share"]
            cell["heat"] = charts.heat_class(min(value, 100), 100) if cell["age"] else "heat-base"
    return {"report": report, "metric": metric, "summary": summary}


def _ltv(request, filters):
    context = _cohorts(request, filters)
    report = context["report"]
    rows = report.rows[-12:]  # the curves of the latest twelve cohorts stay readable
    context["ltv_chart"] = charts.line_chart(
        [{"label": row.label, "values": [c["ltv"] for c in row.cells]} for row in rows],
        [str(age) for age in report.ages],
    )
    return context


def _cohort_csv(context):
    report = context["report"]
    metric = context["metric"]
    header = ["cohort", "cohort_size", *[f"{report.period}_{age}" for age in report.ages]]
    key = "share" if metric == "customers" else "revenue"
    rows = [
        [row.label, row.size, *[cell[key] for cell in row.cells], *[""] * (len(report.ages) - len(row.cells))]
        for row in report.rows
    ]
    return header, rows


def _ltv_csv(context):
    report = context["report"]
    header = ["cohort", "cohort_size", *[f"{report.period}_{age}" for age in report.ages]]
    rows = [
        [row.label, row.size, *[cell["ltv"] for cell in row.cells], *[""] * (len(report.ages) - len(row.cells))]
        for row in report.rows
    ]
    return header, rows


def _metrics_csv(context):
    r = context["report"]
    return (
        ["customers", "purchases", "revenue", "average_order_value", "purchase_frequency", "repeat_purchase_rate"],
        [[r.customers, r.purchases, r.revenue, r.average_order_value, r.purchase_frequency, r.repeat_rate]],
    )


@vary_on_headers("HX-Request")
@role_required(OWNER)
def cohorts(request):
    return _render_report(request, page="cohorts", default_days=365, build=_cohorts, tables={"matrix": _cohort_csv})


@vary_on_headers("HX-Request")
@role_required(OWNER)
def ltv(request):
    return _render_report(
        request, page="ltv", default_days=365, build=_ltv, tables={"curves": _ltv_csv, "metrics": _metrics_csv}
    )


# --- order flow: time in status, funnel --------------------------------------------------------------------


def _flow(request, filters):
    statuses = reports.status_names(request.tenant)
    durations = reports.duration_report(tenant=request.tenant, filters=filters, statuses=statuses)
    funnel = reports.funnel_report(tenant=request.tenant, filters=filters, statuses=statuses)
    for row in durations.statuses + durations.groups:
        row["median_text"], row["p90_text"] = _duration(row["median"]), _duration(row["p90"])
    top = max((s["reached"] for s in funnel.stages), default=0)
    for stage in funnel.stages:
        stage["heat"] = charts.heat_class(stage["reached"], top)
    return {
        "summary": reports.summary_state(request.tenant),  # both reports read summaries rebuilt every 5 minutes
        "durations": durations,
        "funnel": funnel,
        "group_chart": charts.bar_chart(
            [{"label": g["name"], "value": round(g["median"] / 3600, 1)} for g in durations.groups]
        ),
        "funnel_chart": charts.bar_chart([{"label": s["label"], "value": s["reached"]} for s in funnel.stages]),
    }


FLOW_TABLES = {
    "statuses": lambda c: (
        ["status", "group", "stays", "median_seconds", "p90_seconds"],
        [[r["name"], r["group"], r["stays"], round(r["median"]), round(r["p90"])] for r in c["durations"].statuses],
    ),
    "groups": lambda c: (
        ["group", "stays", "median_seconds", "p90_seconds"],
        [[r["code"], r["stays"], round(r["median"]), round(r["p90"])] for r in c["durations"].groups],
    ),
    "funnel": lambda c: (
        ["stage", "reached", "share_percent", "step_percent", "cancelled", *c["funnel"].cancel_statuses],
        [
            [s["stage"], s["reached"], s["share"], s["step"], s["cancelled"], *s["by_status"]]
            for s in c["funnel"].stages
        ],
    ),
}


@vary_on_headers("HX-Request")
@role_required(OWNER)
def flow(request):
    return _render_report(request, page="flow", default_days=90, build=_flow, tables=FLOW_TABLES)


# --- SLA breaches ------------------------------------------------------------------------------------------


def _sla(request, filters):
    report = reports.sla_report(tenant=request.tenant, filters=filters)
    return {
        "report": report,
        "manager_chart": charts.bar_chart([{"label": r["manager"], "value": r["breaches"]} for r in report.managers]),
    }


SLA_TABLES = {
    "managers": lambda c: (
        ["manager", "breaches", "orders", "overdue_now"],
        [[r["manager"], r["breaches"], r["orders"], r["overdue_now"]] for r in c["report"].managers],
    ),
    "statuses": lambda c: (
        ["status", "breaches", "orders"],
        [[r["name"], r["breaches"], r["orders"]] for r in c["report"].statuses],
    ),
}


@vary_on_headers("HX-Request")
@role_required(OWNER)
def sla(request):
    return _render_report(request, page="sla", default_days=90, build=_sla, tables=SLA_TABLES)


# --- what splitting earns ---------------------------------------------------------------------------------


def _splits(request, filters):
    report = splits.split_report(tenant=request.tenant, filters=filters)
    ship = [report.median_seconds_to_ship, report.p90_seconds_to_ship]
    return {
        "report": report,
        "median_to_ship": _duration(ship[0]) if ship[0] is not None else "—",
        "p90_to_ship": _duration(ship[1]) if ship[1] is not None else "—",
        "summary": reports.summary_state(request.tenant),
    }


SPLIT_TABLES = {
    "cohorts": lambda c: (
        [
            "first_purchase_month",
            "split_customers",
            "split_customer_value",
            "split_repeat_percent",
            "other_customers",
            "other_customer_value",
            "other_repeat_percent",
        ],
        [
            [
                r.cohort.strftime("%Y-%m"),
                r.split_customers,
                r.split_value,
                round(100 * r.split_repeat, 1),
                r.other_customers,
                "" if r.other_value is None else r.other_value,
                "" if r.other_repeat is None else round(100 * r.other_repeat, 1),
            ]
            for r in c["report"].cohorts
        ],
    ),
}


@vary_on_headers("HX-Request")
@role_required(OWNER)
def split_offs(request):
    return _render_report(request, page="splits", default_days=365, build=_splits, tables=SPLIT_TABLES)


# --- margins -----------------------------------------------------------------------------------------------


def _margins(request, filters):
    return {"report": reports.margin_report(tenant=request.tenant, filters=filters)}


def _margin_rows(rows):
    return [[r.key, r.revenue, r.cost, r.margin, "" if r.percent is None else r.percent, r.uncosted] for r in rows]


MARGIN_HEADER = ["revenue", "cost", "margin", "margin_percent", "lines_without_cost"]
MARGIN_TABLES = {
    "categories": lambda c: (["category", *MARGIN_HEADER], _margin_rows(c["report"].categories)),
    "channels": lambda c: (["channel", *MARGIN_HEADER], _margin_rows(c["report"].channels)),
}


@vary_on_headers("HX-Request")
@role_required(OWNER)
def margins(request):
    return _render_report(request, page="margins", default_days=90, build=_margins, tables=MARGIN_TABLES)


# --- settings ----------------------------------------------------------------------------------------------


@role_required(OWNER)
def settings_view(request):
    current = reports.revenue_groups(request.tenant)
    form = AnalyticsSettingsForm(
        request.POST if request.method == "POST" else None, initial={"revenue_groups": current}
    )
    if request.method == "POST" and form.is_valid():
        ok, _ = run_service(
            request,
            lambda actor: services.update_settings(
                tenant=request.tenant, revenue_groups=form.cleaned_data["revenue_groups"]
            ),
            success=gettext("Revenue groups saved; every report now uses them."),
            form=form,
            field="revenue_groups",
        )
        if ok:
            return redirect("analytics:settings")
    context = {
        "form": form,
        "tabs": TABS,
        "page": "settings",
        "summary": reports.summary_state(request.tenant),
        "rebuild": job_context(jobs.latest_job(tenant=request.tenant, kind=services.REBUILD_JOB)),
    }
    return render(request, "analytics/settings.html", context)


@require_POST
@role_required(OWNER)
def refresh_view(request):
    """Rebuild the summaries now instead of waiting for the next scheduled rebuild (a task; the page shows it)."""
    job = jobs.start_job(tenant=request.tenant, kind=services.REBUILD_JOB, user=request.user)
    return job_answer(request, job, back="analytics:settings")
