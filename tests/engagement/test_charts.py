"""Server-side SVG charts: well-formed, escaped, labelled, and faithful to the data."""

import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta

import pytest
from django.utils import timezone

from engagement.charts import Series, bar_chart, format_number, line_chart, nice_ticks

NS = {"svg": "http://www.w3.org/2000/svg"}


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # noqa: S314 - our own output


def polyline_points(root: ET.Element) -> int:
    return sum(len(line.get("points", "").split()) for line in root.iterfind(".//svg:polyline", NS))


def texts(root: ET.Element) -> list[str]:
    return [el.text or "" for el in root.iterfind(".//svg:text", NS)]


def text_of(root: ET.Element, path: str) -> str:
    element = root.find(path, NS)
    assert element is not None
    return element.text or ""


def days(n: int, start: date = date(2026, 3, 1)) -> list[date]:
    return [start + timedelta(days=i) for i in range(n)]


def test_line_chart_is_labelled_svg_with_title_and_desc() -> None:
    svg = line_chart(
        [Series("Active", [(d, i) for i, d in enumerate(days(10))])], title="Active learners"
    )
    root = parse(svg)
    assert root.get("role") == "img"
    title, desc = root.find("svg:title", NS), root.find("svg:desc", NS)
    assert title is not None and title.text == "Active learners"
    assert desc is not None and "latest 9" in (desc.text or "")
    assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"


def test_labels_and_titles_are_escaped() -> None:
    svg = line_chart(
        [Series("<b>R&D</b>", [(1, 1.0), (2, 2.0)])], title='A <script> & "quotes"', y_label="<%>"
    )
    root = parse(svg)  # would raise on an unescaped < or &
    assert root.find("svg:title", NS).text == 'A <script> & "quotes"'
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    bars = bar_chart([("Cohort <A> & B", 3)], title="T&C", stacked={"<x>": [1]})
    assert parse(bars).find("svg:title", NS).text == "T&C"
    assert "<x>" not in bars


def test_every_value_becomes_a_point_and_none_breaks_the_line() -> None:
    points = [(d, None if i in (3, 4) else float(i)) for i, d in enumerate(days(10))]
    root = parse(line_chart([Series("Active", points)], title="t"))
    lines = root.findall(".//svg:polyline", NS)
    assert len(lines) == 2  # the gap splits the line
    assert polyline_points(root) == 8
    assert len(root.findall(".//svg:circle", NS)) == 8


def test_an_isolated_point_between_gaps_still_shows() -> None:
    points = [(date(2026, 3, 1), 1.0), (date(2026, 3, 2), None), (date(2026, 3, 3), 2.0)]
    root = parse(line_chart([Series("x", points)], title="t"))
    assert not root.findall(".//svg:polyline", NS)
    assert len(root.findall(".//svg:circle", NS)) == 2


def test_long_series_draw_lines_without_markers() -> None:
    root = parse(line_chart([Series("x", [(d, 1.0) for d in days(365)])], title="t"))
    assert polyline_points(root) == 365
    assert not root.findall(".//svg:circle", NS)


@pytest.mark.parametrize(
    "chart",
    [
        lambda: line_chart([], title="Nothing"),
        lambda: line_chart([Series("x", [(date(2026, 1, 1), None)])], title="Nothing"),
        lambda: bar_chart([], title="Nothing"),
    ],
)
def test_no_data_shows_an_empty_state(chart) -> None:
    root = parse(chart())
    assert "No data yet" in texts(root)
    assert root.find("svg:desc", NS).text == "No data yet."
    assert root.get("role") == "img"


def test_y_max_fixes_the_scale_top() -> None:
    root = parse(line_chart([Series("rate", [(1, 0.2), (2, 0.35)])], title="t", y_max=1))
    y_labels = [
        el.text for el in root.iterfind(".//svg:g[@class='chart-axis chart-y']/svg:text", NS)
    ]
    assert y_labels == ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"]
    grown = parse(line_chart([Series("n", [(1, 130.0)])], title="t", y_max=100))
    top = [el.text for el in grown.iterfind(".//svg:g[@class='chart-axis chart-y']/svg:text", NS)][
        -1
    ]
    assert float(top.replace(",", "")) >= 130


def test_y_ticks_are_round_numbers() -> None:
    assert nice_ticks(0, 87) == [0, 20, 40, 60, 80, 100]
    assert nice_ticks(0, 1) == [0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert nice_ticks(0, 12_345) == [0, 2500, 5000, 7500, 10000, 12500]
    assert nice_ticks(0, 0) == [0, 0.2, 0.4, 0.6, 0.8, 1.0]


def test_numbers_read_as_people_write_them() -> None:
    assert format_number(12345) == "12,345"
    assert format_number(0.125) == "0.12" or format_number(0.125) == "0.13"
    assert format_number(2.5) == "2.5"


def test_date_axis_labels_days_then_months() -> None:
    short = texts(parse(line_chart([Series("x", [(d, 1.0) for d in days(5)])], title="t")))
    assert "1 Mar" in short and "5 Mar" in short
    long = texts(parse(line_chart([Series("x", [(d, 1.0) for d in days(200)])], title="t")))
    assert "Apr 2026" in long and "1 Mar" not in long


def test_datetimes_are_placed_in_the_viewer_timezone() -> None:
    moment = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)
    with timezone.override("Asia/Tokyo"):  # 08:30 on 2 March there
        root = parse(line_chart([Series("x", [(moment, 1.0)])], title="t"))
    assert "2 Mar 2026 08:30" in text_of(root, ".//svg:circle/svg:title")


def test_several_series_get_a_legend_and_their_tones() -> None:
    root = parse(
        line_chart(
            [
                Series("High", [(1, 1.0), (2, 2.0)], "high"),
                Series("Low", [(1, 3.0), (2, 1.0)], "low"),
            ],
            title="t",
        )
    )
    classes = [line.get("class") for line in root.iterfind(".//svg:polyline", NS)]
    assert classes == ["chart-line tone-high", "chart-line tone-low"]
    assert {"High", "Low"} <= set(texts(root))


def test_unknown_tone_is_refused() -> None:
    with pytest.raises(ValueError, match="tone"):
        Series("x", [], tone="purple")
    with pytest.raises(ValueError, match="tone"):
        bar_chart([("a", 1)], title="t", tone="purple")


def test_bar_chart_draws_one_bar_per_value() -> None:
    root = parse(bar_chart([("A", 3), ("B", 0), ("C", 7.5)], title="Bars"))
    groups = root.findall(".//svg:g[@class='chart-bar-group']", NS)
    assert [g.get("data-label") for g in groups] == ["A", "B", "C"]
    assert [float(g.get("data-total")) for g in groups] == [3, 0, 7.5]
    assert len(root.findall(".//svg:rect[@class='chart-bar tone-accent']", NS)) == 2  # 0 draws none
    assert "A: 3." in text_of(root, "svg:desc")


def test_stacked_bars_total_their_segments_and_show_the_remainder() -> None:
    root = parse(
        bar_chart(
            [("Cohort 1", 10), ("Cohort 2", 4)],
            title="Risk bands",
            tone="muted",
            stacked={"high": [2, 1], "medium": [3, 0], "low": [4, 3]},
        )
    )
    groups = root.findall(".//svg:g[@class='chart-bar-group']", NS)
    assert [float(g.get("data-total")) for g in groups] == [10, 4]
    first = [
        (r.get("class"), float(r.get("data-value"))) for r in groups[0].iterfind("svg:rect", NS)
    ]
    assert first == [
        ("chart-bar tone-high", 2),
        ("chart-bar tone-medium", 3),
        ("chart-bar tone-low", 4),
        ("chart-bar tone-muted", 1),  # 10 - 9 not covered by a segment
    ]
    assert sum(value for _, value in first) == 10
    assert "Cohort 1: 10 (high 2, medium 3, low 4, Other 1)." in text_of(root, "svg:desc")


def test_stacked_bars_taller_than_their_value_use_the_segment_sum() -> None:
    root = parse(bar_chart([("A", 0)], title="t", stacked={"x": [2], "y": [3]}))
    assert float(root.find(".//svg:g[@class='chart-bar-group']", NS).get("data-total")) == 5


def test_stacked_values_must_match_the_bars() -> None:
    with pytest.raises(ValueError, match="2 bars"):
        bar_chart([("A", 1), ("B", 2)], title="t", stacked={"x": [1]})


def test_long_bar_labels_are_shortened_but_kept_in_the_title() -> None:
    bars = [(f"A very long cohort name number {i}", i) for i in range(30)]
    root = parse(bar_chart(bars, title="t"))
    assert any(t.endswith("…") for t in texts(root))
    assert root.find(".//svg:rect/svg:title", NS).text.startswith(
        "A very long cohort name number 1"
    )
