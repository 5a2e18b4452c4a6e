"""Small stacked bar charts of outcomes, drawn on the server as inline SVG (no script, no CDN, no build step).

Each bar is one period (an hour or a day), its segments the outcomes in a fixed order and colour; every segment has
a ``<title>`` (its period, outcome and count) that browsers show on hover, and the chart's totals are in its
caption, so the numbers are readable without the picture.
"""

from __future__ import annotations

from django.utils import timezone
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

from auditing.status.snapshot import OUTCOMES, OutcomeSeries

COLOURS = {
    "created": "#2e7d32",
    "commented": "#66bb6a",
    "forwarded": "#29b6f6",
    "filtered": "#ffb300",
    "rejected": "#8d6e63",
    "dropped": "#9e9e9e",
    "failed": "#ef6c00",
    "error": "#c62828",
}
WIDTH, HEIGHT, PAD = 360, 90, 14  # the bars stand on y=HEIGHT; PAD below holds the period labels


def bar_chart(series: OutcomeSeries, title: str) -> SafeString:
    """The series as an SVG stacked bar chart."""
    n = len(series.counts) or 1
    tallest = max([sum(bucket.values()) for bucket in series.counts] + [1])
    slot = WIDTH / n
    bar = max(slot - 2, 1)
    fmt = "%H:00" if series.period == "hour" else "%a %d"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="jemh-chart" role="img" width="{WIDTH}" '
        f'height="{HEIGHT + PAD}" viewBox="0 0 {WIDTH} {HEIGHT + PAD}" aria-label="{escape(title)}">',
        f'<line x1="0" y1="{HEIGHT}" x2="{WIDTH}" y2="{HEIGHT}" stroke="#bbb" stroke-width="1"/>',
    ]
    for i, (start, bucket) in enumerate(zip(series.starts, series.counts, strict=True)):
        x = i * slot + 1
        y = float(HEIGHT)
        label = timezone.localtime(start).strftime(fmt)
        for outcome in OUTCOMES:
            value = bucket.get(outcome, 0)
            if not value:
                continue
            h = (HEIGHT - 12) * value / tallest  # the top 12 px hold the scale
            y -= h
            parts.append(
                f'<rect class="bar" data-outcome="{outcome}" data-count="{value}" x="{x:.1f}" y="{y:.1f}" '
                f'width="{bar:.1f}" height="{h:.1f}" fill="{COLOURS[outcome]}">'
                f"<title>{escape(label)}: {value} {outcome}</title></rect>"
            )
        if i % max(n // 6, 1) == 0:
            parts.append(f'<text x="{x:.1f}" y="{HEIGHT + PAD - 2}" font-size="9" fill="#666">{escape(label)}</text>')
    parts.append(f'<text x="2" y="9" font-size="9" fill="#666">max {tallest}</text>')
    parts.append("</svg>")
    return mark_safe("".join(parts))


def legend() -> SafeString:
    items = [
        format_html(
            '<span class="jemh-legend-item"><span style="background:{}" class="jemh-swatch"></span>{}</span>',
            COLOURS[outcome],
            outcome,
        )
        for outcome in OUTCOMES
    ]
    return mark_safe(" ".join(items))
