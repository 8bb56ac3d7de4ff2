"""A run's results as the page shows them, whatever the kind: numbers as figures, lists of rows
as tables, mappings as definition lists or tables, and a chart wherever a value is a series.

The kinds' result keys differ and grow, so nothing here names one: shapes decide. Rows about
single learners (they carry the ``label`` the selector added) link to the learner's page for
viewers who may open it; analysts never get such rows (``simulation_results`` drops them).
"""

import json
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeGuard

from django.urls import reverse
from django.utils.safestring import SafeString
from django.utils.translation import gettext

from engagement.charts import Series, bar_chart, format_number, line_chart
from learners.contracts import BANDS

#: At most this many rows of one table are shown (a what-if can list thousands of learners).
TABLE_ROWS = 200
#: Keys that put rows in order along an axis: a list of such rows is drawn as lines.
X_KEYS = ("week", "weeks", "threshold", "bin", "step", "day", "x")
LINE_TONES = ("accent", "high", "medium", "low", "muted")
MAX_BARS = 30
#: Mappings keyed by bands (least to most at risk), before/after or percentiles show in that
#: order: PostgreSQL's jsonb does not keep a mapping's key order.
BAND_ORDER = tuple(reversed(BANDS))
BEFORE_AFTER = ("before", "after")
PERCENTILE = re.compile(r"p[0-9]+(\.[0-9]+)?")


@dataclass(frozen=True)
class Reader:
    """What the viewer may follow and read by name: learner pages (coaches and admins) and the
    names of the cohorts they see (results hold cohort ids)."""

    learner_links: bool = False
    cohort_names: Mapping[str, str] = field(default_factory=dict)

    def cohort(self, value: Any) -> str | None:
        return self.cohort_names.get(str(value))


#: Row columns that name a row, shown first in this order.
LEAD_COLUMNS = (
    "label",
    "cohort",
    "cohort_id",
    "name",
    "rule",
    "kind",
    "band",
    "from",
    "to",
    *X_KEYS,
)
#: A bar of a named row shows the first of these the row has (else its first number).
BAR_VALUES = ("expected", "count", "value", "mean", "learners")
#: Row columns that hold a cohort id, shown by the cohort's name.
COHORT_COLUMNS = frozenset({"cohort", "cohort_id"})


@dataclass(frozen=True)
class Cell:
    text: str
    url: str = ""
    number: bool = False


@dataclass(frozen=True)
class Table:
    caption: str
    columns: list[str]
    rows: list[list[Cell]]
    total: int

    @property
    def truncated(self) -> bool:
        return self.total > len(self.rows)


@dataclass(frozen=True)
class Section:
    """One result key: its figures, tables, plain items and chart."""

    key: str
    title: str
    figures: list[tuple[str, Cell]] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    items: list[str] = field(default_factory=list)
    chart: SafeString | None = None

    @property
    def scalar(self) -> bool:
        """A single figure (shown with the others in one list)."""
        return not (self.tables or self.items or self.chart) and len(self.figures) == 1


#: Result keys whose plain spelling would puzzle a reader, in words.
LABELS = {
    "label": "Learner",
    "cohort_id": "Cohort",
    "max_abs_score_change": "Biggest score change",
    "high_before": "High risk before",
    "high_after": "High risk after",
    "crossings": "Learners crossing bands",
    "crossings_total": "Learners crossing bands",
    "unscored": "Learners without a score",
    "withdrawn": "Learners who withdrew",
    "caught_share": "Withdrawals flagged in time",
    "never_flagged_share": "Withdrawals never flagged",
    "mean_lead_weeks": "Mean lead, weeks",
    "mean_precision": "Mean weekly precision",
    "high_start": "High risk now",
    "high_final_mean": "High risk at the end (mean)",
    "high_final_p5": "High risk at the end, 5th percentile",
    "high_final_p95": "High risk at the end, 95th percentile",
    "high_precision": "Precision of the high band",
    "high_recall": "Recall of the high band",
    "suggested_threshold": "Suggested threshold",
    "within_capacity": "Within capacity",
    "withdrew_later": "Withdrew later",
    "lead_weeks": "Lead, weeks",
    "first_flagged_at": "First flagged",
    "withdrew_at": "Withdrew",
    "as_of": "As of",
    "best_margin": "Ahead of the next best rule by",
    "opted_out": "Opted out of nudges",
    "rescored": "Scored by a model other than the live one",
    "budget": "Nudges per week",
    "draws": "Uplift draws",
    "cutoff_days": "Outcome cut-off, days",
}
#: Result keys that hold shares (0..1), shown as percentages.
SHARES = frozenset(
    {
        "caught_share",
        "never_flagged_share",
        "precision",
        "recall",
        "mean_precision",
        "high_precision",
        "high_recall",
        "uplift",
    }
)


def title(key: Any) -> str:
    """A result key as words (``band_changes`` → "Band changes"; known keys as ``LABELS``)."""
    if str(key) in LABELS:
        return gettext(LABELS[str(key)])
    text = str(key).replace("_", " ").strip()
    return text[:1].upper() + text[1:]


#: Headline keys read differently from the same key in a table.
HEADLINE_LABELS = {"learners": "Learners simulated"}


def headline_title(key: Any) -> str:
    """A headline figure's name (``learners`` is how many the run covered)."""
    return gettext(HEADLINE_LABELS[str(key)]) if str(key) in HEADLINE_LABELS else title(key)


def show_figure(key: Any, value: Any) -> Cell:
    """A named figure: a share as a percentage, anything else as ``show_value``."""
    if str(key) in SHARES and is_number(value):
        return Cell(f"{value * 100:.1f}".rstrip("0").rstrip(".") + " %", number=True)
    return show_value(value)


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def show_value(value: Any) -> Cell:
    """A scalar as text (numbers readable, ``None`` as a dash); a structure as compact JSON."""
    if value is None:
        return Cell("—")
    if isinstance(value, bool):
        return Cell(gettext("yes") if value else gettext("no"))
    if isinstance(value, int):
        return Cell(format_number(value), number=True)
    if isinstance(value, float):
        text = f"{value:,.3f}".rstrip("0").rstrip(".") if abs(value) < 10 else format_number(value)
        return Cell(text, number=True)
    if isinstance(value, str):
        return Cell(value)
    return Cell(json.dumps(value, ensure_ascii=False, sort_keys=True))


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def is_rows(value: Any) -> TypeGuard[list[Mapping[str, Any]]]:
    return isinstance(value, list) and bool(value) and all(isinstance(r, Mapping) for r in value)


def _columns(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """The rows' columns, those that name a row first (PostgreSQL's jsonb sorts keys by
    length, so the stored order is not the kind's)."""
    names = list(dict.fromkeys(str(key) for row in rows for key in row))
    if "label" in names and "learner_id" in names:
        names.remove("learner_id")
    lead = [name for name in LEAD_COLUMNS if name in names]
    return [*lead, *(name for name in names if name not in lead)]


def _learner_url(learner_id: Any) -> str:
    try:
        return reverse("dashboard-learner", args=[uuid.UUID(str(learner_id))])
    except ValueError:
        return ""


def rows_table(rows: Sequence[Mapping[str, Any]], *, caption: str, reader: Reader) -> Table:
    """Rows of dicts as a table; a learner row's ``label`` links to the learner's page, a
    cohort id shows as the cohort's name."""
    columns = _columns(rows)
    shown = []
    for row in rows[:TABLE_ROWS]:
        cells = []
        for column in columns:
            cell = show_figure(column, row.get(column))
            if column in COHORT_COLUMNS and (name := reader.cohort(row.get(column))):
                cell = Cell(name)
            if column == "label" and reader.learner_links:
                cell = Cell(cell.text, _learner_url(row.get("learner_id")))
            cells.append(cell)
        shown.append(cells)
    return Table(caption, [title(column) for column in columns], shown, len(rows))


def in_reading_order(keys: Sequence[Any]) -> list[Any]:
    """``keys`` in the order a reader expects when they are all bands (low to high), ``before``
    and ``after``, or percentiles (``p5``, ``p50``, ``p95``); else as they are."""
    names = [str(key) for key in keys]
    for order in (BAND_ORDER, BEFORE_AFTER):
        if names and all(name in order for name in names):
            return sorted(keys, key=lambda key: order.index(str(key)))
    if names and all(PERCENTILE.fullmatch(name) for name in names):
        return sorted(keys, key=lambda key: float(str(key)[1:]))
    return list(keys)


def _row_name(key: Any, reader: Reader) -> str:
    """A row's key as shown: a band in words, a cohort id as its name, else as it is."""
    return title(key) if str(key) in BAND_ORDER else reader.cohort(key) or str(key)


def _matrix_table(value: Mapping[str, Mapping[str, Any]], *, caption: str, reader: Reader) -> Table:
    """A mapping of mappings (per cohort, from band → to band) as one row per outer key."""
    inner = in_reading_order(list(dict.fromkeys(str(key) for row in value.values() for key in row)))
    rows = [
        [Cell(_row_name(outer, reader)), *(show_value(value[outer].get(name)) for name in inner)]
        for outer in in_reading_order(list(value))[:TABLE_ROWS]
    ]
    return Table(caption, ["", *(title(name) for name in inner)], rows, len(value))


def _parallel_lists(value: Mapping[str, Any]) -> bool:
    """Lists of numbers of one length under each key (before and after, percentiles)."""
    lengths = {len(item) if _numbers(item) else -1 for item in value.values()}
    return bool(value) and len(lengths) == 1 and -1 not in lengths


def _columns_table(value: Mapping[str, list[Any]], *, caption: str) -> Table:
    """Parallel lists as columns, one row per position (numbered from 1)."""
    names = in_reading_order(list(value))
    length = len(value[names[0]])
    rows = [
        [Cell(str(n + 1), number=True), *(show_value(value[name][n]) for name in names)]
        for n in range(min(length, TABLE_ROWS))
    ]
    return Table(caption, ["#", *(title(name) for name in names)], rows, length)


def section(key: str, value: Any, *, reader: Reader) -> Section:
    """One result key as a section (its chart too, when the value is a series)."""
    chart = series_chart(title(key), value, reader)
    if is_rows(value):
        table = rows_table(value, caption=title(key), reader=reader)
        return Section(key, title(key), tables=[table], chart=chart)
    if isinstance(value, list):
        return Section(
            key, title(key), items=[show_value(item).text for item in value], chart=chart
        )
    if not isinstance(value, Mapping):
        return Section(key, title(key), figures=[(title(key), show_value(value))], chart=chart)
    figures, tables = [], []
    if _parallel_lists(value):
        tables.append(_columns_table(value, caption=title(key)))
    elif (
        value
        and all(isinstance(inner, Mapping) for inner in value.values())
        and all(_is_scalar(item) for inner in value.values() for item in inner.values())
    ):
        tables.append(_matrix_table(value, caption=title(key), reader=reader))
    else:
        for name, inner in value.items():
            if is_rows(inner):
                tables.append(rows_table(inner, caption=title(name), reader=reader))
            elif isinstance(inner, Mapping) and all(_is_scalar(i) for i in inner.values()):
                tables.append(
                    _matrix_table({title(name): inner}, caption=title(name), reader=reader)
                )
            else:
                figures.append((title(name), show_value(inner)))
    return Section(key, title(key), figures=figures, tables=tables, chart=chart)


def result_sections(results: Mapping[str, Any], *, reader: Reader) -> list[Section]:
    """A section per result key, in the results' order (a scalar's is one figure)."""
    return [section(key, value, reader=reader) for key, value in results.items()]


# --- charts ----------------------------------------------------------------------------------


def _numbers(values: Any) -> bool:
    return isinstance(values, list) and len(values) >= 2 and all(is_number(v) for v in values)


def _y_max(values: Sequence[float]) -> float | None:
    return 1.0 if values and all(0 <= v <= 1 for v in values) else None


def _lines(label: str, series: list[Series]) -> SafeString:
    values = [y for s in series for _, y in s.points if y is not None]
    return line_chart(series, title=label, y_max=_y_max(values))


def _rows_chart(label: str, rows: Sequence[Mapping[str, Any]], reader: Reader) -> SafeString | None:
    """Rows along an axis (``week``, ``threshold``...) as lines, one per numeric column; rows
    named by a text column as bars of their first number. Learner rows are not charted."""
    if any("learner_id" in row for row in rows):
        return None
    first = rows[0]
    numeric = [key for key, value in first.items() if is_number(value)]
    x_key = next((key for key in X_KEYS if key in numeric), None)
    if x_key is not None:
        columns = [key for key in numeric if key != x_key][: len(LINE_TONES)]
        series = [
            Series(
                title(column),
                [(float(row[x_key]), _number_or_none(row.get(column))) for row in rows],
                tone,
            )
            for column, tone in zip(columns, LINE_TONES, strict=False)
        ]
        return _lines(label, series) if series else None
    names = [key for key in _columns([first]) if isinstance(first.get(key), str)]
    if not names or not numeric or len(rows) > MAX_BARS:
        return None
    value_key = next((key for key in BAR_VALUES if key in numeric), numeric[0])
    bars = [
        (
            " → ".join(reader.cohort(row.get(name)) or str(row.get(name)) for name in names),
            float(row.get(value_key) or 0),
        )
        for row in rows
    ]
    return bar_chart(bars, title=f"{label}: {title(value_key)}")


def _number_or_none(value: Any) -> float | None:
    return float(value) if is_number(value) else None


def series_chart(label: str, value: Any, reader: Reader) -> SafeString | None:
    """A chart of ``value`` when it is a series: rows along an axis, a few named counts,
    parallel lists of numbers (before and after, percentiles per week), counts from band → to
    band."""
    if _numbers(value):
        return _lines(label, [Series(label, list(enumerate(value, start=1)))])
    if is_rows(value) and len(value) >= 2:
        return _rows_chart(label, value, reader)
    if not isinstance(value, Mapping) or not value:
        return None
    items = [(key, value[key]) for key in in_reading_order(list(value))]
    if len(items) <= MAX_BARS and all(is_number(v) for _, v in items):
        return bar_chart([(title(k), float(v)) for k, v in items], title=label)
    if _parallel_lists(value):
        series = [
            Series(title(name), list(enumerate(values, start=1)), tone)
            for (name, values), tone in zip(items, LINE_TONES, strict=False)
        ]
        return _lines(label, series)
    if all(
        str(outer) in BAND_ORDER
        and isinstance(row, Mapping)
        and all(str(inner) in BAND_ORDER and is_number(count) for inner, count in row.items())
        for outer, row in items
    ):
        bars = [
            (f"{title(outer)} → {title(inner)}", float(count))
            for outer, row in items
            for inner, count in ((key, row[key]) for key in in_reading_order(list(row)))
            if inner != outer  # staying in a band is no change: the table has those
        ]
        return bar_chart(bars, title=label) if 0 < len(bars) <= MAX_BARS else None
    return None
