"""Finding the header row of an export (title rows may come first) and matching its columns."""

from __future__ import annotations

from collections.abc import Sequence

from tilsyn.cases.importing.cpr import cpr_text, looks_like_cpr
from tilsyn.cases.importing.errors import field_label, text
from tilsyn.cases.importing.records import ParseReport
from tilsyn.cases.importing.rows import RowProcessor
from tilsyn.cases.importing.values import Converters, cell_text
from tilsyn.cases.mapping import ColumnMapping, HeaderMatch

#: How many non-blank rows are searched for the header (title rows may precede it).
HEADER_SEARCH_ROWS = 10


class HeaderSearch:
    """Finds the header row: the first of the first few non-blank rows that has every
    required column. If none has, the missing columns of the best candidate are reported.

    Candidate rows are screened for CPR numbers too; their columns are named by position
    (``Kolonne 3``) because a header text could itself be the sensitive value.
    """

    def __init__(
        self,
        mapping: ColumnMapping,
        report: ParseReport,
        converters: Converters,
        *,
        text_cells: bool,
    ) -> None:
        self.mapping = mapping
        self.report = report
        self.converters = converters
        self.text_cells = text_cells
        self.seen = 0
        self.best: tuple[int, int, list[str], HeaderMatch] | None = None
        self.stopped = False

    def offer(self, row: int, cells: Sequence[object]) -> RowProcessor | None:
        """Consider a non-blank row; returns the processor once the header is found.

        ``stopped`` is set when header problems were reported (parsing must end).
        """
        for index, value in enumerate(cells):
            cell = cpr_text(value)
            if cell and looks_like_cpr(cell):
                self.report.cpr_found = True
                self.report.error(row, text("column_number", num=index + 1), "cpr")
        texts = ["" if h is None else cell_text(h) for h in cells]
        match = self.mapping.match(texts)
        self.seen += 1
        if not match.missing:
            return self._start(row, texts, match)
        if self.best is None or len(match.missing) < self.best[0]:
            self.best = (len(match.missing), row, texts, match)
        if self.seen >= HEADER_SEARCH_ROWS:
            self.finish()
        return None

    def finish(self) -> None:
        """No (more) candidates: report the best candidate's problems, or an empty file."""
        if self.stopped:
            return
        self.stopped = True
        if self.best is None:
            self.report.error(0, None, "empty")
            return
        _, row, texts, match = self.best
        self._start(row, texts, match)

    def _start(self, row: int, texts: list[str], match: HeaderMatch) -> RowProcessor | None:
        report, mapping = self.report, self.mapping
        report.ignored_columns = [h for h in match.ignored if not looks_like_cpr(h)]
        report.missing_required = list(match.missing)
        for name in match.missing:
            header = mapping.header_for(name)
            report.error(row, header, "missing_column", header=header, label=field_label(name))
        for name, found in match.conflicts:
            headers = ", ".join(found)
            report.error(row, found[0], "conflict", label=field_label(name), headers=headers)
        if match.missing or match.conflicts:
            self.stopped = True
            return None
        processor = RowProcessor(
            texts,
            match.fields,
            report,
            self.converters,
            text_cells=self.text_cells,
        )
        processor.refused = report.cpr_found
        return processor
