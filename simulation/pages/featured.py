"""What each kind's results page shows first: the figures, charts and tables a programme lead
reads to answer the kind's question, labelled in words. The rest of a run's results (and any
key a kind adds later) still goes to the generic renderer of ``results``.

Each builder reads only the keys it knows and skips a part whose keys are missing (analysts'
results have no learner rows; an older run may lack a key), so a page never fails on a shape.
"""

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from engagement.charts import Series, bar_chart, line_chart
from simulation.pages.results import (
    BAND_ORDER,
    TABLE_ROWS,
    Cell,
    Reader,
    Section,
    Table,
    is_number,
    is_rows,
    rows_table,
    show_figure,
    show_value,
    title,
)

#: The targeting rules of intervention planning, in words.
RULE_NAMES = {
    "highest_risk": "Highest risk first",
    "middle_band": "Middle (medium) band",
    "highest_uplift": "Highest expected uplift",
}
PERCENTILES = ("p5", "p25", "p50", "p75", "p95")


def rule_name(rule: Any) -> str:
    return _(RULE_NAMES[rule]) if rule in RULE_NAMES else title(rule)


def _band_rows(results: Mapping[str, Any], before: str, after: str) -> Table | None:
    """Learners per band before and after, with the change."""
    old, new = results.get(before), results.get(after)
    if not isinstance(old, Mapping) or not isinstance(new, Mapping):
        return None
    rows = [
        [
            Cell(title(band)),
            show_value(old.get(band)),
            show_value(new.get(band)),
            show_value((new.get(band) or 0) - (old.get(band) or 0)),
        ]
        for band in reversed(BAND_ORDER)
        if band in old or band in new
    ]
    return Table(
        _("Learners per band"), ["", _("Before"), _("After"), _("Change")], rows, len(rows)
    )


def _band_matrix(pairs: Sequence[Mapping[str, Any]]) -> Table:
    """Counts from each band (rows) to each band (columns); the diagonal stayed put."""
    counts = {(str(row.get("from")), str(row.get("to"))): row.get("learners") for row in pairs}
    named = {band for pair in counts for band in pair}
    bands = [band for band in reversed(BAND_ORDER) if band in named]
    rows = [
        [Cell(_("from %(band)s") % {"band": title(old)})]
        + [show_value(counts.get((old, new), 0)) for new in bands]
        for old in bands
    ]
    columns = ["", *(_("to %(band)s") % {"band": title(new)} for new in bands)]
    return Table(_("Band changes (from → to)"), columns, rows, len(rows))


def _distribution_chart(
    distribution: Mapping[str, Any], labels: tuple[str, str] | None = None
) -> SafeString | None:
    edges, before, after = (distribution.get(key) for key in ("edges", "before", "after"))
    if not (isinstance(edges, list) and isinstance(before, list) and isinstance(after, list)):
        return None
    if len(edges) != len(before) + 1 or len(before) != len(after):
        return None
    first, second = labels or (_("Before"), _("After"))
    mids = [(float(edges[i]) + float(edges[i + 1])) / 2 for i in range(len(before))]
    return line_chart(
        [
            Series(first, list(zip(mids, before, strict=True)), "muted"),
            Series(second, list(zip(mids, after, strict=True)), "accent"),
        ],
        title=_("Learners by risk score, before and after"),
        y_label=_("learners"),
    )


def _what_if(results: Mapping[str, Any], reader: Reader) -> list[Section]:
    sections = []
    figures = [
        (title(key), show_figure(key, results[key]))
        for key in ("mean_score_before", "mean_score_after")
        if key in results
    ]
    bands = _band_rows(results, "bands_before", "bands_after")
    pairs = results.get("band_changes")
    if bands is not None and isinstance(pairs, list) and is_rows(pairs):
        tables = [bands, _band_matrix(pairs)]
        items = (
            [_("No learner's score moved: the change reaches nothing this model version reads.")]
            if results.get("max_abs_score_change") == 0
            else []
        )
        sections.append(Section("band_changes", _("How bands change"), figures, tables, items))
    distribution = results.get("distribution")
    if isinstance(distribution, Mapping) and (chart := _distribution_chart(distribution)):
        sections.append(Section("distribution", _("Shift of the score distribution"), chart=chart))
    cohorts = results.get("cohorts")
    if is_rows(cohorts) and all("bands_before" in row for row in cohorts):
        sections.append(
            Section("cohorts", _("Per cohort"), tables=[_cohort_table(cohorts, reader)])
        )
    crossings = results.get("crossings")
    if isinstance(crossings, list) and (not crossings or is_rows(crossings)):
        sections.append(
            _learner_rows("crossings", _("Learners who cross bands"), crossings, reader)
        )
    return sections


def _cohort_table(rows: Sequence[Mapping[str, Any]], reader: Reader) -> Table:
    """A what-if's per-cohort rows, band counts spread into columns."""
    columns = [_("Cohort"), _("Learners"), _("Mean score before"), _("Mean score after")]
    columns += [_("%(band)s before") % {"band": title(b)} for b in ("high", "medium")]
    columns += [_("%(band)s after") % {"band": title(b)} for b in ("high", "medium")]
    shown = []
    for row in rows:
        old, new = row.get("bands_before") or {}, row.get("bands_after") or {}
        name = row.get("cohort") or reader.cohort(row.get("cohort_id")) or row.get("cohort_id")
        shown.append(
            [
                show_value(name),
                show_value(row.get("learners")),
                show_value(row.get("mean_score_before")),
                show_value(row.get("mean_score_after")),
                *(show_value(old.get(band)) for band in ("high", "medium")),
                *(show_value(new.get(band)) for band in ("high", "medium")),
            ]
        )
    return Table(_("Per cohort"), columns, shown, len(rows))


def _learner_rows(key: str, label: str, rows: list[Any], reader: Reader) -> Section:
    if not rows:
        return Section(key, label, items=[_("None.")])
    return Section(key, label, tables=[rows_table(rows, caption=label, reader=reader)])


def _backtest(results: Mapping[str, Any], reader: Reader) -> list[Section]:
    sections = []
    lead = results.get("lead_time")
    if isinstance(lead, Mapping):
        figures = [
            (title(key), show_figure(key, lead.get(key)))
            for key in ("caught_share", "never_flagged_share", "mean", "median")
            if key in lead
        ]
        figures = [
            (
                _("Mean lead, weeks")
                if n == "Mean"
                else _("Median lead, weeks")
                if n == "Median"
                else n,
                c,
            )
            for n, c in figures
        ]
        counts = lead.get("counts") or {}
        chart = None
        if isinstance(counts, Mapping) and counts:
            ordered = sorted(counts.items(), key=lambda item: int(item[0]))
            chart = bar_chart(
                [(str(weeks), float(n)) for weeks, n in ordered],
                title=_("Withdrawals flagged, by weeks ahead of withdrawing"),
            )
            chart = _captioned(
                chart,
                _(
                    "Withdrawals by how many weeks ahead the high band flagged them (0: the week they left)"
                ),
            )
        sections.append(
            Section(
                "lead_time", _("How early the high band flagged withdrawals"), figures, chart=chart
            )
        )
    weeks = results.get("weeks")
    if is_rows(weeks) and all({"cohort_id", "week"} <= set(row) for row in weeks):
        sections.append(_weekly_quality(weeks, reader))
    withdrawals = results.get("withdrawals")
    if isinstance(withdrawals, list) and (not withdrawals or is_rows(withdrawals)):
        sections.append(
            _learner_rows(
                "withdrawals",
                _("Each withdrawal and how early it was flagged"),
                withdrawals,
                reader,
            )
        )
    return sections


def _weekly_quality(weeks: Sequence[Mapping[str, Any]], reader: Reader) -> Section:
    """Precision and recall of the high band per week, one chart per cohort, and the table."""
    by_cohort: dict[str, list[Mapping[str, Any]]] = {}
    for row in weeks:
        by_cohort.setdefault(str(row.get("cohort_id")), []).append(row)
    charts = []
    for cohort_id, rows in by_cohort.items():
        name = reader.cohort(cohort_id) or cohort_id
        series = [
            Series(
                label,
                [
                    (float(row["week"]), _number(row.get(key)))
                    for row in rows
                    if is_number(row.get("week"))
                ],
                tone,
            )
            for key, label, tone in (
                ("precision", _("Precision"), "accent"),
                ("recall", _("Recall"), "high"),
            )
        ]
        label = _("%(cohort)s: precision and recall by week") % {"cohort": name}
        charts.append(_captioned(line_chart(series, title=label, y_max=1.0), label))
    table = _weeks_table(weeks, reader)
    return Section(
        "weeks",
        _("Precision and recall of the high band, week by week"),
        tables=[table],
        chart=_joined(charts),
    )


def _weeks_table(weeks: Sequence[Mapping[str, Any]], reader: Reader) -> Table:
    """A backtest's weekly rows, the band counts spread into columns and dates as dates."""
    columns = [_("Cohort"), _("Week"), _("As of"), _("Learners"), _("High"), _("Medium")]
    columns += [_("Mean score"), _("Precision"), _("Recall"), _("Flagged"), _("Withdrew later")]
    rows = [
        [
            Cell(reader.cohort(row.get("cohort_id")) or str(row.get("cohort_id"))),
            show_value(row.get("week")),
            Cell(str(row.get("as_of") or "")[:10]),
            show_value(row.get("learners")),
            *(show_value((row.get("bands") or {}).get(band)) for band in ("high", "medium")),
            show_value(row.get("mean_score")),
            show_figure("precision", row.get("precision")),
            show_figure("recall", row.get("recall")),
            show_value(row.get("flagged")),
            show_value(row.get("withdrew_later")),
        ]
        for row in weeks[:TABLE_ROWS]
    ]
    return Table(_("Week by week"), columns, rows, len(weeks))


def _joined(charts: Sequence[SafeString]) -> SafeString:
    """Several charts in one section, one after the other."""
    return format_html_join("", "{}", ((chart,) for chart in charts))


def _captioned(chart: SafeString, caption: str) -> SafeString:
    """A chart with its title shown above it (several charts share a section)."""
    return format_html(
        '<figure class="chart-figure"><figcaption>{}</figcaption>{}</figure>', caption, chart
    )


def _number(value: Any) -> float | None:
    return float(value) if is_number(value) else None


def _projection(results: Mapping[str, Any], reader: Reader) -> list[Section]:
    per_week = results.get("per_week")
    if not is_rows(per_week):
        return []
    rows = [row for row in per_week if isinstance(row.get("high"), Mapping) and "week" in row]
    if not rows:
        return []
    tones = {"p5": "muted", "p25": "medium", "p50": "high", "p75": "medium", "p95": "muted"}
    names = {
        "p5": _("5th percentile"),
        "p25": _("25th"),
        "p50": _("Median"),
        "p75": _("75th"),
        "p95": _("95th percentile"),
    }
    series = [
        Series(
            names[key],
            [(float(row["week"]), _number(row["high"].get(key))) for row in rows],
            tones[key],
        )
        for key in PERCENTILES
    ]
    series.append(
        Series(
            _("Mean"),
            [(float(row["week"]), _number(row["high"].get("mean"))) for row in rows],
            "accent",
        )
    )
    chart = line_chart(
        series,
        title=_("High-risk learners per week: percentiles over the runs"),
        y_label=_("learners"),
    )
    columns = [_("Week"), _("Mean"), *(names[key] for key in PERCENTILES), _("Medium band, mean")]
    table_rows = [
        [
            show_value(row.get("week")),
            show_value(row["high"].get("mean")),
            *(show_value(row["high"].get(key)) for key in PERCENTILES),
            show_value((row.get("medium") or {}).get("mean")),
        ]
        for row in rows
    ]
    table = Table(_("High-risk learners per week"), columns, table_rows, len(table_rows))
    sections = [
        Section("per_week", _("High-risk learners, week by week"), tables=[table], chart=chart)
    ]
    start = results.get("start")
    if isinstance(start, Mapping):
        shift = _distribution_chart(
            {
                "edges": results.get("distribution_edges"),
                "before": start.get("distribution"),
                "after": results.get("final_distribution"),
            },
            labels=(_("Now"), _("At the end (mean of the runs)")),
        )
        if shift is not None:
            sections.append(
                Section("final_distribution", _("Risk scores now and at the end"), chart=shift)
            )
    return sections


def _interval(pair: Any, key: str = "") -> str:
    """An interval ``[low, high]`` as "low to high" (a dash when unknown)."""
    if isinstance(pair, list) and len(pair) == 2 and all(is_number(v) for v in pair):
        return _("%(low)s to %(high)s") % {
            "low": show_figure(key, pair[0]).text,
            "high": show_figure(key, pair[1]).text,
        }
    return "—"


def _intervention(results: Mapping[str, Any], reader: Reader) -> list[Section]:
    sections = []
    rules = results.get("rules")
    if isinstance(rules, Mapping) and rules and all(isinstance(p, Mapping) for p in rules.values()):
        figures = []
        if results.get("best_rule") is not None:
            figures.append((_("Best rule"), Cell(rule_name(results["best_rule"]))))
        if "best_margin" in results:
            figures.append(
                (_("Ahead of the next best rule by (learners)"), show_value(results["best_margin"]))
            )
        lows, middles, highs, bars = [], [], [], []
        rows = []
        for rule, plan in rules.items():
            expected = float(plan.get("expected") or 0)
            low, high = (plan.get("interval") or [expected, expected])[:2]
            bars.append((rule_name(rule), float(high)))
            lows.append(float(low))
            middles.append(expected - float(low))
            highs.append(float(high) - expected)
            rows.append(
                [
                    Cell(rule_name(rule)),
                    show_value(plan.get("expected")),
                    Cell(_interval(plan.get("interval"))),
                    show_value(plan.get("nudged")),
                    show_value(plan.get("behind_best")),
                    Cell(_interval(plan.get("behind_best_interval"))),
                ]
            )
        chart = _rule_weeks_chart(rules)
        if min(lows, default=0) >= 0:
            chart = _interval_bars(bars, lows, middles, highs) + chart
        else:
            figures.append(
                (
                    _("Intervals"),
                    Cell(_("some go below zero (a negative uplift): see the table")),
                )
            )
        columns = [
            _("Targeting rule"),
            _("Expected re-engaged"),
            _("Interval"),
            _("Nudges sent"),
            _("Behind the best rule"),
            _("Behind, interval"),
        ]
        table = Table(_("Targeting rules side by side"), columns, rows, len(rows))
        sections.append(
            Section("rules", _("Targeting rules compared"), figures, [table], chart=chart)
        )
    uplift = results.get("uplift")
    if isinstance(uplift, Mapping) and uplift:
        sections.append(Section("uplift", _("Uplift per band"), tables=[_uplift_table(uplift)]))
    picked = results.get("picked")
    if isinstance(picked, list) and (not picked or is_rows(picked)):
        named = [{**row, "rule": rule_name(row.get("rule"))} for row in picked]
        sections.append(
            _learner_rows("picked", _("Learners picked in the first week"), named, reader)
        )
    return sections


def _interval_bars(
    bars: list[tuple[str, float]], lows: list[float], middles: list[float], highs: list[float]
) -> SafeString:
    """Each rule's bar up to its interval's high end, the expected number marked inside."""
    names = (
        _("up to the interval's low end"),
        _("up to the expected number"),
        _("up to the interval's high end"),
    )
    label = _("Expected learners re-engaged per rule, with the 95% interval")
    chart = bar_chart(
        bars,
        title=label,
        stacked=dict(zip(names, (lows, middles, highs), strict=True)),
        tones=dict(zip(names, ("muted", "accent", "low"), strict=True)),
    )
    return _captioned(chart, label)


def _rule_weeks_chart(rules: Mapping[str, Any]) -> SafeString:
    """Expected learners re-engaged each week, one line per rule."""
    series = [
        Series(
            rule_name(rule),
            [
                (float(week["week"]), _number(week.get("expected")))
                for week in plan.get("weeks") or []
                if is_number(week.get("week"))
            ],
            tone,
        )
        for (rule, plan), tone in zip(rules.items(), ("accent", "high", "medium"), strict=False)
    ]
    label = _("Expected learners re-engaged each week, per rule")
    return _captioned(line_chart(series, title=label, y_label=_("learners")), label)


def _uplift_table(uplift: Mapping[str, Any]) -> Table:
    rows = []
    for band in reversed(BAND_ORDER):
        figure = uplift.get(band)
        if not isinstance(figure, Mapping):
            continue
        measured = figure.get("source") == "measured"
        if measured:
            source = _("measured in nudge experiments (%(n)s learners)") % {"n": figure.get("n")}
        elif figure.get("measured_n"):
            source = _("assumed: experiments measured only %(n)s learners, too few to rely on") % {
                "n": figure.get("measured_n")
            }
        else:
            source = _("assumed: no experiment has measured it yet")
        rows.append(
            [
                Cell(title(band)),
                show_figure("uplift", figure.get("value")),
                Cell(_interval([figure.get("low"), figure.get("high")], "uplift")),
                Cell(source),
            ]
        )
    columns = [_("Band"), _("Uplift (re-engaged per nudge)"), _("Interval"), _("Source")]
    return Table(_("Uplift per band"), columns, rows, len(rows))


def _thresholds(results: Mapping[str, Any], reader: Reader) -> list[Section]:
    sections = []
    figures = []
    if "capacity" in results:
        figures.append(
            (_("Coach capacity (learners flagged at most)"), show_value(results["capacity"]))
        )
    for band in ("high", "medium"):
        row = (results.get("current") or {}).get(band)
        if isinstance(row, Mapping):
            figures.append(
                (
                    _("Current %(band)s threshold") % {"band": band},
                    Cell(_threshold_text(row)),
                )
            )
    if "suggested" in results:
        suggested = results["suggested"]
        figures.append(
            (
                _("Suggested threshold for the capacity"),
                Cell(
                    _threshold_text(suggested)
                    if isinstance(suggested, Mapping)
                    else _("none (no capacity given)")
                ),
            )
        )
    table = results.get("table")
    charts: list[SafeString] = []
    tables = []
    if is_rows(table):
        points = [row for row in table if is_number(row.get("threshold"))]
        charts.append(
            line_chart(
                [
                    Series(
                        _("Precision"),
                        [(row["threshold"], _number(row.get("precision"))) for row in points],
                        "accent",
                    ),
                    Series(
                        _("Recall"),
                        [(row["threshold"], _number(row.get("recall"))) for row in points],
                        "high",
                    ),
                ],
                title=_("Precision and recall by threshold"),
                y_max=1.0,
            )
        )
        flagged = [
            Series(
                _("Flagged"),
                [(row["threshold"], _number(row.get("flagged"))) for row in points],
                "medium",
            )
        ]
        if is_number(results.get("capacity")):
            capacity = float(results["capacity"])
            flagged.append(
                Series(_("Capacity"), [(row["threshold"], capacity) for row in points], "muted")
            )
        charts.append(
            line_chart(flagged, title=_("Learners flagged by threshold"), y_label=_("learners"))
        )
        tables.append(rows_table(table, caption=_("Each threshold"), reader=reader))
    if figures or tables:
        sections.append(
            Section(
                "table",
                _("Thresholds against coach capacity"),
                figures,
                tables,
                chart=_joined(charts) if charts else None,
            )
        )
    return sections


def _threshold_text(row: Mapping[str, Any]) -> str:
    return _("%(threshold)s: flags %(flagged)s, precision %(precision)s, recall %(recall)s") % {
        "threshold": show_value(row.get("threshold")).text,
        "flagged": show_value(row.get("flagged")).text,
        "precision": show_figure("precision", row.get("precision")).text,
        "recall": show_figure("recall", row.get("recall")).text,
    }


Builder = Callable[[Mapping[str, Any], Reader], list[Section]]
#: Per kind: its builder, and per section it may build the result keys that section shows (the
#: generic renderer shows the rest, and a key whose section was not built for want of shape).
FEATURED: Mapping[str, tuple[Builder, Mapping[str, frozenset[str]]]] = {
    "what_if": (
        _what_if,
        {
            "band_changes": frozenset(
                {
                    "mean_score_before",
                    "mean_score_after",
                    "bands_before",
                    "bands_after",
                    "band_changes",
                    "band_changes_by_pair",
                }
            ),
            "distribution": frozenset({"distribution"}),
            "cohorts": frozenset({"cohorts"}),
            "crossings": frozenset({"crossings"}),
        },
    ),
    "backtest": (
        _backtest,
        {
            "lead_time": frozenset({"lead_time"}),
            "weeks": frozenset({"weeks"}),
            "withdrawals": frozenset({"withdrawals"}),
        },
    ),
    "projection": (
        _projection,
        {
            "per_week": frozenset({"per_week"}),
            "final_distribution": frozenset({"final_distribution", "distribution_edges", "start"}),
        },
    ),
    "intervention": (
        _intervention,
        {
            "rules": frozenset({"rules", "best_rule", "best_margin"}),
            "uplift": frozenset({"uplift"}),
            "picked": frozenset({"picked"}),
        },
    ),
    "thresholds": (
        _thresholds,
        {"table": frozenset({"capacity", "current", "suggested", "table"})},
    ),
}


def featured_sections(
    kind: str, results: Mapping[str, Any], *, reader: Reader
) -> tuple[list[Section], frozenset[str]]:
    """The sections a kind's page shows first, and the result keys they cover."""
    if kind not in FEATURED:
        return [], frozenset()
    build, covers = FEATURED[kind]
    sections = build(results, reader)
    shown = frozenset().union(*(covers[section.key] for section in sections))
    return sections, shown
