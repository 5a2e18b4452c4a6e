"""``{% status_dashboard %}``: the status dashboard of the admin index (auditing.status), in the parts the signed-in
user may see."""

from __future__ import annotations

from typing import Any

from django import template

from auditing.status import charts
from auditing.status.snapshot import allowed_parts, snapshot
from jemh import tenancy

register = template.Library()


@register.inclusion_tag("admin/_status_panel.html", takes_context=True)
def status_dashboard(context: template.Context) -> dict[str, Any]:
    request = context.get("request")
    if request is None:
        return {"status": None}
    allowed = allowed_parts(request.user)
    if not allowed:
        return {"status": None}
    status = snapshot(allowed, instance_ids=tenancy.instance_ids_of(request.user))
    figures = []
    for period, caption in (("24h", "Last 24 hours, by hour"), ("7d", "Last 7 days, by day")):
        if status.outcomes is not None:
            series = status.outcomes[period]
            figures.append(
                {
                    "period": period,
                    "svg": charts.bar_chart(series, f"Outcomes: {caption.lower()}"),
                    "caption": caption,
                    "totals": [(outcome, n) for outcome, n in series.totals().items() if n],
                }
            )
    return {"status": status, "figures": figures, "legend": charts.legend()}
