"""Streaming CSV reading and terminal reporting shared by the two import commands."""

import csv
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, TextIO

from django.core.management.base import CommandError
from tqdm import tqdm

from learners.services import IngestReport


def csv_rows(handle: TextIO, *, required: Iterable[str]) -> Iterator[tuple[int, Mapping[str, str]]]:
    """Yield ``(line_number, row)`` one at a time, after checking the header names every column."""
    reader = csv.DictReader(handle)
    missing = sorted(set(required) - set(reader.fieldnames or []))
    if missing:
        raise CommandError(f"The header lacks the column(s): {', '.join(missing)}.")
    for row in reader:
        yield reader.line_num, row


def run_csv_import(
    *,
    path: str,
    required: Iterable[str],
    importer: Callable[..., Iterator[IngestReport]],
    write: Callable[[str], Any],
    progress: bool,
) -> IngestReport:
    """Stream ``path`` through ``importer`` chunk by chunk, printing refused lines as they come."""
    file = Path(path)
    if not file.is_file():
        raise CommandError(f"No such file: {path}")
    total = IngestReport()
    with (
        file.open(newline="", encoding="utf-8-sig") as handle,
        tqdm(unit=" rows", disable=not progress, desc=file.name) as bar,
    ):
        for report in importer(rows=csv_rows(handle, required=required)):
            for rejected in report.rejected:
                reasons = "; ".join(
                    f"{name}: {' '.join(why)}" for name, why in rejected["errors"].items()
                )
                write(f"line {rejected['index']}: {reasons}")
            total.merge(report)
            bar.update(report.accepted + report.duplicates + len(report.rejected))
    return total
