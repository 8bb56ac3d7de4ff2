"""Streaming CSV reading and terminal reporting shared by the two import commands."""

import csv
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, TextIO

from django.core.management.base import CommandError, CommandParser
from tqdm import tqdm

from engagement.commands import ApplicationCommand
from learners.services import IngestReport


def csv_rows(handle: TextIO, *, required: Iterable[str]) -> Iterator[tuple[int, Mapping[str, str]]]:
    """Yield ``(line_number, row)`` one at a time, after checking the header names every column."""
    reader = csv.DictReader(handle)
    missing = sorted(set(required) - set(reader.fieldnames or []))
    if missing:
        noun = "column" if len(missing) == 1 else "columns"
        raise CommandError(f"The header lacks the {noun}: {', '.join(missing)}.")
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
    if not file.exists():
        raise CommandError(f"No such file: {path}")
    if not file.is_file():
        raise CommandError(f"Not a regular file: {path}")
    total = IngestReport()
    with (
        file.open(newline="", encoding="utf-8-sig") as handle,
        tqdm(unit=" rows", disable=not progress, desc=file.name) as bar,
    ):
        try:
            for report in importer(rows=csv_rows(handle, required=required)):
                for rejected in report.rejected:
                    reasons = "; ".join(
                        f"{name}: {' '.join(why)}" for name, why in rejected["errors"].items()
                    )
                    write(f"line {rejected['index']}: {reasons}")
                total.merge(report)
                bar.update(report.accepted + report.duplicates + len(report.rejected))
        except UnicodeDecodeError as exc:
            done = total.accepted + total.duplicates + len(total.rejected)
            raise CommandError(
                f"{path} is not UTF-8 text ({exc.reason}); stopped after {done} rows."
            ) from exc
    return total


class CsvImportCommand(ApplicationCommand):
    """Shared shape of the import commands: one FILE argument, streamed import, a summary line."""

    columns: tuple[str, ...] = ()

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="Path of the CSV file (UTF-8, header row first).")

    def import_rows(self, **kwargs: Any) -> Iterator[IngestReport]:
        raise NotImplementedError

    def summary(self, report: IngestReport, seconds: float) -> str:
        raise NotImplementedError

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        report = run_csv_import(
            path=options["file"],
            required=self.columns,
            importer=self.import_rows,
            write=self.stderr.write,
            progress=sys.stderr.isatty(),
        )
        self.stdout.write(self.summary(report, time.monotonic() - started))
        if report.rejected and not (report.accepted or report.duplicates):
            raise CommandError("No row could be imported.")
