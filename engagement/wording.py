"""Wording of counts in messages people read: "1 assessment", "2 assessments", "1,200 events"."""


def counted(count: float, singular: str, plural: str = "", *, grouped: bool = False) -> str:
    """The count and its noun in the right number; fractional counts are rounded as they are
    shown, so 0.6 days reads "1 day". ``plural`` defaults to ``singular + "s"``."""
    shown = round(count)
    figure = f"{shown:,}" if grouped else str(shown)
    return f"{figure} {singular if shown == 1 else plural or singular + 's'}"
