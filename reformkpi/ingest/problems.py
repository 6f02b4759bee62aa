"""A problem found in an uploaded file, named by the file's own row number, column and value."""

from __future__ import annotations

from dataclasses import dataclass, field

from reformkpi import formatting
from reformkpi.i18n import t

ERROR, WARNING = "error", "warning"


@dataclass(frozen=True)
class Figure:
    """A number in a problem's message, written when the message is, in its language: at `decimals`
    (formatting.number), or as the number is with up to 4 decimals (formatting.figure)."""

    x: float
    decimals: int | None = None

    def text(self, lang: str) -> str:
        return formatting.figure(self.x, lang) if self.decimals is None else formatting.number(self.x, lang, self.decimals)


@dataclass(frozen=True)
class Problem:
    code: str  # the locale key suffix: ingest.problem.<code>
    row: int | None = None  # as the analyst sees it: the spreadsheet's row number, 1-based
    column: str | None = None  # the file's own header
    value: str | None = None
    severity: str = ERROR
    fields: dict = field(default_factory=dict, hash=False, compare=False)

    def message(self, lang: str) -> str:
        fields = {k: v.text(lang) if isinstance(v, Figure) else v for k, v in self.fields.items()}
        text = t(f"ingest.problem.{self.code}", lang, value=self.value, column=self.column, **fields)
        where = []
        if self.row is not None:
            where.append(t("ingest.where.row", lang, row=self.row))
        if self.column:
            where.append(t("ingest.where.column", lang, column=self.column))
        return (", ".join(where) + ": " if where else "") + text

    def as_dict(self, lang: str) -> dict:
        return {"severity": self.severity, "code": self.code, "row": self.row, "column": self.column,
                "value": self.value, "message": self.message(lang)}


class IngestError(ValueError):
    """The file cannot be read at all (format, size, encoding): nothing further is checked."""

    def __init__(self, problems: list[Problem]):
        super().__init__("; ".join(p.message("en") for p in problems))
        self.problems = problems
