"""Server-side SVG charts for the dashboard: no JavaScript, no CDN, readable without CSS.

Every chart is an ``<svg role="img">`` labelled by its ``<title>`` and a ``<desc>`` that states
the data in words, so a screen reader gets the gist; pages still put the full data table next to
it (in a ``<details>``). Colours come from CSS classes (``tone-accent``, ``tone-high``, ...)
styled in ``dashboard.css``, so the palette lives in one place and keeps its contrast. All text
is escaped here: labels are data (cohort names may hold ``<`` or ``&``).
"""

import math
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

TONES = ("accent", "high", "medium", "low", "muted")
# Segments of a stacked bar whose names are not tones take these, in turn.
_CYCLE = ("accent", "medium", "low", "high", "muted")
_CHAR_WIDTH = 7.0  # average width of a 12px system-ui glyph, for fitting labels
_MARKER_LIMIT = 60  # above this many points a series draws its line without point markers

XValue = date | datetime | float
Scale = Callable[[float], float]
Segment = tuple[str, str, list[float]]


@dataclass(frozen=True, slots=True)
class Series:
    """One line: ``points`` are (x, y) with x a date, datetime or number; y ``None`` is a gap."""

    label: str
    points: Sequence[tuple[XValue, float | None]]
    tone: str = "accent"

    def __post_init__(self) -> None:
        if self.tone not in TONES:
            raise ValueError(f"Unknown chart tone {self.tone!r}; use one of {', '.join(TONES)}.")


@dataclass(frozen=True, slots=True)
class _Box:
    """The plot area inside the SVG, in SVG units."""

    left: float
    top: float
    right: float
    bottom: float

    @property
    def width(self) -> float:
        return self.right - self.left

    @property
    def height(self) -> float:
        return self.bottom - self.top


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values (steps of 1, 2, 2.5 or 5 times a power of ten) covering ``low``..``high``."""
    if not high > low:
        high = low + 1
    raw = (high - low) / max(count, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw * (1 - 1e-9))
    first = math.floor(low / step + 1e-9) * step
    last = math.ceil(high / step - 1e-9) * step
    steps = round((last - first) / step)
    return [_clean(first + i * step) for i in range(steps + 1)]


def format_number(value: float) -> str:
    """A number as a person reads it: thousands separated, at most two decimals, no trailing 0."""
    if value == int(value) and abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def line_chart(
    series: Sequence[Series],
    *,
    title: str,
    y_label: str = "",
    y_max: float | None = None,
    width: int = 640,
    height: int = 220,
) -> SafeString:
    """A line chart of ``series`` over dates (or numbers); ``None`` values break the line.

    ``y_max`` fixes the top of the scale (1 for rates, 100 for percentages); data above it
    still shows, the scale then grows to a round number above the data. The y axis starts at 0
    unless a value is negative.
    """
    values = [y for s in series for _, y in s.points if y is not None]
    if not values:
        return _empty(title, width, height)
    is_dates = any(isinstance(x, date) for s in series for x, _ in s.points)
    xs = [_x_position(x) for s in series for x, y in s.points if y is not None]
    x_low, x_high = min(xs), max(xs)
    if x_high == x_low:
        x_low, x_high = x_low - 1, x_high + 1
    y_ticks = _y_ticks(values, y_max)
    legend = len(series) > 1
    box = _plot_box(width, height, y_ticks, legend=legend, y_label=bool(y_label))

    def px(x: float) -> float:
        return box.left + (x - x_low) / (x_high - x_low) * box.width

    def py(y: float) -> float:
        return box.bottom - (y - y_ticks[0]) / (y_ticks[-1] - y_ticks[0]) * box.height

    x_ticks = (
        _date_ticks(x_low, x_high, box.width)
        if is_dates
        else _number_ticks(x_low, x_high, box.width)
    )
    parts = [_y_axis(box, y_ticks, py, y_label)]
    parts.append(_x_axis(box, [(px(x), label) for x, label in x_ticks]))
    for s in series:
        parts.append(_series_marks(s, px, py))
    if legend:
        parts.append(_legend([(s.label, s.tone) for s in series], box.left, width))
    desc = _line_description(series, is_dates, y_label)
    return _svg(title, desc, width, height, "".join(parts))


def bar_chart(
    bars: Sequence[tuple[str, float]],
    *,
    title: str,
    tone: str = "accent",
    width: int = 640,
    height: int = 220,
    stacked: Mapping[str, Sequence[float]] | None = None,
) -> SafeString:
    """A vertical bar per (label, value), in the given order.

    With ``stacked`` (segment name → one value per bar, in bar order) each bar is drawn as its
    segments bottom-up in mapping order; a segment named after a tone (``high``, ``medium``,
    ``low``...) takes that colour. A bar's own value is its total: what its segments do not
    cover shows as an "Other" segment in ``tone``.
    """
    if tone not in TONES:
        raise ValueError(f"Unknown chart tone {tone!r}; use one of {', '.join(TONES)}.")
    if not bars:
        return _empty(title, width, height)
    segments = _segments(bars, stacked or {}, tone)
    totals = [sum(values[i] for _, _, values in segments) for i in range(len(bars))]
    y_ticks = _y_ticks([*totals, 0.0], None)
    legend = len(segments) > 1
    box = _plot_box(width, height, y_ticks, legend=legend, y_label=False)

    def py(y: float) -> float:
        return box.bottom - (y - y_ticks[0]) / (y_ticks[-1] - y_ticks[0]) * box.height

    slot = box.width / len(bars)
    bar_width = max(slot * 0.7, 1.0)
    label_chars = max(int(slot / _CHAR_WIDTH), 1)
    parts = [_y_axis(box, y_ticks, py, "")]
    marks = []
    for i, (label, _) in enumerate(bars):
        x = box.left + i * slot + (slot - bar_width) / 2
        marks.append(_bar(label, x, bar_width, segments, i, totals[i], py, slot))
    parts.append("".join(marks))
    parts.append(
        _x_axis(
            box,
            [
                (box.left + (i + 0.5) * slot, _fit(label, label_chars))
                for i, (label, _) in enumerate(bars)
            ],
        )
    )
    if legend:
        parts.append(_legend([(name, seg_tone) for name, seg_tone, _ in segments], box.left, width))
    desc = _bar_description(bars, totals, segments)
    return _svg(title, desc, width, height, "".join(parts))


# --- building blocks -------------------------------------------------------------------------


def _clean(value: float) -> float:
    """Drop the float noise of tick arithmetic (0.30000000000000004 → 0.3)."""
    return round(value, 10) + 0.0


def _x_position(x: XValue) -> float:
    """Dates as day ordinals; datetimes as fractional local days, so both share date ticks."""
    if isinstance(x, datetime):
        local = timezone.localtime(x) if timezone.is_aware(x) else x
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
        return local.toordinal() + (local - midnight).total_seconds() / 86400
    if isinstance(x, date):
        return float(x.toordinal())
    return float(x)


def _y_ticks(values: Iterable[float], y_max: float | None) -> list[float]:
    values = list(values)
    low = min(0.0, *values)
    high = max(values)
    if y_max is not None and y_max >= high:
        high = y_max
    if high == low:
        high = low + 1
    return nice_ticks(low, high)


def _plot_box(
    width: int, height: int, y_ticks: Sequence[float], *, legend: bool, y_label: bool
) -> _Box:
    widest = max(len(_tick_label(t, y_ticks)) for t in y_ticks)
    top = 12.0 + (22 if legend else 0) + (16 if y_label else 0)
    return _Box(left=widest * _CHAR_WIDTH + 14, top=top, right=width - 12.0, bottom=height - 26.0)


def _tick_label(value: float, ticks: Sequence[float]) -> str:
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1
    decimals = (
        0
        if step >= 1
        else min(-math.floor(math.log10(step) + 1e-9) + (1 if step * 10 % 1 else 0), 4)
    )
    return f"{value:,.{decimals}f}"


def _y_axis(box: _Box, ticks: Sequence[float], py: Scale, label: str) -> str:
    lines = []
    for tick in ticks:
        y = py(tick)
        lines.append(
            f'<line class="chart-grid" x1="{box.left:.1f}" x2="{box.right:.1f}" y1="{y:.1f}" y2="{y:.1f}"'
            ' stroke="#cbd2d9"/>'
            f'<text class="chart-text" x="{box.left - 6:.1f}" y="{y + 4:.1f}" text-anchor="end"'
            f' font-size="12">{escape(_tick_label(tick, ticks))}</text>'
        )
    if label:
        lines.append(
            f'<text class="chart-text chart-axis-label" x="{box.left:.1f}" y="{box.top - 8:.1f}"'
            f' font-size="12">{escape(label)}</text>'
        )
    return f'<g class="chart-axis chart-y">{"".join(lines)}</g>'


def _x_axis(box: _Box, ticks: Sequence[tuple[float, str]]) -> str:
    labels = [
        f'<text class="chart-text" x="{x:.1f}" y="{box.bottom + 18:.1f}" text-anchor="middle"'
        f' font-size="12">{escape(text)}</text>'
        for x, text in ticks
    ]
    axis = (
        f'<line class="chart-baseline" x1="{box.left:.1f}" x2="{box.right:.1f}"'
        f' y1="{box.bottom:.1f}" y2="{box.bottom:.1f}" stroke="#52606d"/>'
    )
    return f'<g class="chart-axis chart-x">{axis}{"".join(labels)}</g>'


def _date_ticks(low: float, high: float, plot_width: float) -> list[tuple[float, str]]:
    """Ticks on whole days, weeks (Mondays), months or years, as many as fit the width."""
    most = max(int(plot_width // 72), 2)
    first, last = date.fromordinal(math.ceil(low)), date.fromordinal(math.floor(high))
    span = (last - first).days
    for step in (1, 2, 7, 14):
        if span // step + 1 <= most:
            start = first if step < 7 else first + timedelta(days=(7 - first.weekday()) % 7)
            days = [start + timedelta(days=n) for n in range(0, (last - start).days + 1, step)]
            return [(float(d.toordinal()), date_format(d, "j M")) for d in days]
    months = (last.year - first.year) * 12 + last.month - first.month
    for step in (1, 2, 3, 6, 12, 24, 60, 120):
        if months // step + 1 <= most:
            break
    ticks = []
    index = first.year * 12 + first.month - 1 + (0 if first.day == 1 else 1)
    while (tick := date(index // 12, index % 12 + 1, 1)) <= last:
        if index % step == 0:
            ticks.append((float(tick.toordinal()), date_format(tick, "M Y" if step < 12 else "Y")))
        index += 1
    return ticks


def _number_ticks(low: float, high: float, plot_width: float) -> list[tuple[float, str]]:
    ticks = [t for t in nice_ticks(low, high, max(int(plot_width // 72), 2)) if low <= t <= high]
    return [(t, format_number(t)) for t in ticks]


def _series_marks(series: Series, px: Scale, py: Scale) -> str:
    """The series' lines, one polyline per run of values between gaps, plus point markers."""
    runs: list[list[tuple[float, float, XValue, float]]] = [[]]
    for x, y in sorted(series.points, key=lambda point: _x_position(point[0])):
        if y is None:
            if runs[-1]:
                runs.append([])
            continue
        runs[-1].append((px(_x_position(x)), py(y), x, y))
    count = sum(len(run) for run in runs)
    marks = []
    for run in runs:
        if len(run) > 1:
            points = " ".join(f"{x:.1f},{y:.1f}" for x, y, _, _ in run)
            marks.append(
                f'<polyline class="chart-line tone-{series.tone}" points="{points}" fill="none"'
                ' stroke="currentColor" stroke-width="2"/>'
            )
        if len(run) == 1 or count <= _MARKER_LIMIT:
            marks.extend(
                f'<circle class="chart-point tone-{series.tone}" cx="{x:.1f}" cy="{y:.1f}" r="3">'
                f"<title>{escape(series.label)}: {escape(_x_text(raw_x))}, {escape(format_number(value))}</title>"
                "</circle>"
                for x, y, raw_x, value in run
            )
    return f'<g class="chart-series" data-series="{escape(series.label)}">{"".join(marks)}</g>'


def _x_text(x: XValue) -> str:
    if isinstance(x, datetime):
        local = timezone.localtime(x) if timezone.is_aware(x) else x
        return date_format(local, "j M Y H:i")
    if isinstance(x, date):
        return date_format(x, "j M Y")
    return format_number(x)


def _segments(
    bars: Sequence[tuple[str, float]], stacked: Mapping[str, Sequence[float]], tone: str
) -> list[Segment]:
    """(name, tone, value per bar) for each stacked segment, then what the segments leave over."""
    segments = []
    for n, (name, values) in enumerate(stacked.items()):
        if len(values) != len(bars):
            raise ValueError(
                f"Stacked segment {name!r} has {len(values)} values for {len(bars)} bars."
            )
        seg_tone = name.lower() if name.lower() in TONES else _CYCLE[n % len(_CYCLE)]
        segments.append((name, seg_tone, [float(v) for v in values]))
    covered = [sum(values[i] for _, _, values in segments) for i in range(len(bars))]
    rest = [max(float(value) - covered[i], 0.0) for i, (_, value) in enumerate(bars)]
    if not segments or any(rest):
        segments.append((gettext("Other") if segments else "", tone, rest))
    return segments


def _bar(
    label: str,
    x: float,
    width: float,
    segments: Sequence[Segment],
    index: int,
    total: float,
    py: Scale,
    slot: float,
) -> str:
    rects = []
    base = 0.0
    for name, seg_tone, values in segments:
        value = values[index]
        if value <= 0:
            continue
        top, bottom = py(base + value), py(base)
        what = (
            f"{label}: {name} {format_number(value)}"
            if name
            else f"{label}: {format_number(value)}"
        )
        rects.append(
            f'<rect class="chart-bar tone-{seg_tone}" x="{x:.1f}" y="{top:.1f}" width="{width:.1f}"'
            f' height="{max(bottom - top, 0.5):.1f}" fill="currentColor" data-value="{value:g}">'
            f"<title>{escape(what)}</title></rect>"
        )
        base += value
    total_text = format_number(total)
    if len(total_text) * _CHAR_WIDTH <= slot:
        rects.append(
            f'<text class="chart-text chart-value" x="{x + width / 2:.1f}" y="{py(total) - 4:.1f}"'
            f' text-anchor="middle" font-size="12">{escape(total_text)}</text>'
        )
    return f'<g class="chart-bar-group" data-label="{escape(label)}" data-total="{total:g}">{"".join(rects)}</g>'


def _fit(text: str, chars: int) -> str:
    return text if len(text) <= chars else text[: max(chars - 1, 1)] + "…"


def _legend(entries: Sequence[tuple[str, str]], left: float, width: int) -> str:
    items, x = [], left
    for label, tone in entries:
        items.append(
            f'<rect class="chart-swatch tone-{tone}" x="{x:.1f}" y="6" width="12" height="12"'
            ' fill="currentColor"/>'
            f'<text class="chart-text" x="{x + 17:.1f}" y="16" font-size="12">{escape(label)}</text>'
        )
        x += 17 + len(label) * _CHAR_WIDTH + 16
        if x > width:
            break
    return f'<g class="chart-legend" aria-hidden="true">{"".join(items)}</g>'


def _line_description(series: Sequence[Series], is_dates: bool, y_label: str) -> str:
    xs = [x for s in series for x, y in s.points if y is not None]
    first, last = min(xs, key=_x_position), max(xs, key=_x_position)
    sentences = [
        gettext("Line chart, %(first)s to %(last)s.")
        % {"first": _x_text(first), "last": _x_text(last)}
    ]
    if y_label:
        sentences.append(gettext("Values: %(label)s.") % {"label": y_label})
    for s in series:
        known = [(x, y) for x, y in s.points if y is not None]
        if not known:
            sentences.append(gettext("%(label)s: no data.") % {"label": s.label})
            continue
        latest_x, latest_y = max(known, key=lambda point: _x_position(point[0]))
        ys = [y for _, y in known]
        sentences.append(
            gettext("%(label)s: latest %(latest)s (%(when)s), lowest %(low)s, highest %(high)s.")
            % {
                "label": s.label,
                "latest": format_number(latest_y),
                "when": _x_text(latest_x),
                "low": format_number(min(ys)),
                "high": format_number(max(ys)),
            }
        )
    return " ".join(sentences)


def _bar_description(
    bars: Sequence[tuple[str, float]], totals: Sequence[float], segments: Sequence[Segment]
) -> str:
    named = [(name, values) for name, _, values in segments if name]
    sentences = [gettext("Bar chart of %(count)d bars.") % {"count": len(bars)}]
    for i, (label, _) in enumerate(bars[:20]):
        parts = ", ".join(
            f"{name} {format_number(values[i])}" for name, values in named if values[i]
        )
        text = f"{label}: {format_number(totals[i])}"
        sentences.append(f"{text} ({parts})." if parts else f"{text}.")
    if len(bars) > 20:
        sentences.append(gettext("%(count)d more bars in the table.") % {"count": len(bars) - 20})
    return " ".join(sentences)


def _empty(title: str, width: int, height: int) -> SafeString:
    message = gettext("No data yet")
    body = (
        f'<text class="chart-text chart-empty" x="{width / 2:.1f}" y="{height / 2:.1f}"'
        f' text-anchor="middle" font-size="14">{escape(message)}</text>'
    )
    return _svg(title, message + ".", width, height, body)


def _svg(title: str, desc: str, width: int, height: int, body: str) -> SafeString:
    key = f"chart-{uuid.uuid4().hex[:10]}"
    # Every text piece of the chart went through escape() (tests/engagement/test_charts.py).
    return mark_safe(  # noqa: S308  # nosec B308 B703
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="{width}"'
        f' height="{height}" viewBox="0 0 {width} {height}"'
        f' aria-labelledby="{key}-title {key}-desc">'
        f'<title id="{key}-title">{escape(title)}</title>'
        f'<desc id="{key}-desc">{escape(desc)}</desc>'
        f"{body}</svg>"
    )
