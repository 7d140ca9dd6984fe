"""Charts as SVG markup built on the server: readable without JavaScript, with a text alternative
(`<title>` and `<desc>`, referenced by aria-labelledby); the page shows the data table beside each."""
from __future__ import annotations

from flask_babel import format_decimal
from markupsafe import Markup, escape

WIDTH = 640
BAR_HEIGHT = 22
LABEL_WIDTH = 220
PALETTE = ("#1f5f8b", "#c0392b", "#27864a", "#b9770e", "#6c3483", "#117a8b")


def _frame(chart_id: str, title: str, desc: str, width: int, height: int, body: list[str]) -> Markup:
    return Markup(
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{chart_id}-title">{escape(title)}</title><desc id="{chart_id}-desc">{escape(desc)}</desc>'
        + "".join(body)
        + "</svg>"
    )


def _number(value: float) -> str:
    """The value written the reader's way ("2,5" in French), without needless decimals."""
    return format_decimal(value, "#,##0.##")


def bar_chart(chart_id: str, title: str, desc: str, bars: list[tuple[str, float]]) -> Markup:
    """Horizontal bars, one per (label, value), longest scale = largest value."""
    height = max(len(bars), 1) * BAR_HEIGHT + 8
    top = max([v for _, v in bars] + [0]) or 1
    span = WIDTH - LABEL_WIDTH - 60
    body = []
    for i, (label, value) in enumerate(bars):
        y = 4 + i * BAR_HEIGHT
        length = span * (value / top)
        body.append(
            f'<text x="{LABEL_WIDTH - 6}" y="{y + 15}" text-anchor="end" class="chart-label">{escape(label[:34])}</text>'
            f'<rect x="{LABEL_WIDTH}" y="{y + 3}" width="{length:.1f}" height="{BAR_HEIGHT - 6}" fill="{PALETTE[0]}"/>'
            f'<text x="{LABEL_WIDTH + length + 4:.1f}" y="{y + 15}" class="chart-value">{escape(_number(value))}</text>'
        )
    return _frame(chart_id, title, desc, WIDTH, height, body)


def line_chart(chart_id: str, title: str, desc: str, x_labels: list[str], series: list[tuple[str, list[float]]]) -> Markup:
    """One polyline per (name, values) over the x labels, with a legend and a zero-based y axis."""
    height, left, right, top, bottom = 260, 40, 10, 10, 40
    legend_height = 18 * len(series)
    top_value = max([v for _, values in series for v in values] + [0]) or 1
    plot_w, plot_h = WIDTH - left - right, height - top - bottom
    step = plot_w / max(len(x_labels) - 1, 1)
    body = [
        f'<line x1="{left}" y1="{top + plot_h}" x2="{WIDTH - right}" y2="{top + plot_h}" class="chart-axis"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" class="chart-axis"/>',
        f'<text x="{left - 4}" y="{top + 10}" text-anchor="end" class="chart-value">{escape(_number(top_value))}</text>',
        f'<text x="{left - 4}" y="{top + plot_h}" text-anchor="end" class="chart-value">0</text>',
    ]
    every = max(1, len(x_labels) // 8)
    for i, label in enumerate(x_labels):
        if i % every == 0:
            body.append(f'<text x="{left + i * step:.1f}" y="{top + plot_h + 16}" text-anchor="middle" class="chart-value">{escape(label)}</text>')
    for n, (name, values) in enumerate(series):
        colour = PALETTE[n % len(PALETTE)]
        points = " ".join(f"{left + i * step:.1f},{top + plot_h - plot_h * v / top_value:.1f}" for i, v in enumerate(values))
        body.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"/>')
        y = height + 4 + n * 18
        body.append(f'<rect x="{left}" y="{y}" width="12" height="12" fill="{colour}"/><text x="{left + 18}" y="{y + 11}" class="chart-label">{escape(name[:60])}</text>')
    return _frame(chart_id, title, desc, WIDTH, height + legend_height + 8, body)
