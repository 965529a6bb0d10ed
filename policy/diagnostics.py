"""Diagnostics with a `file:line:col` location and a code frame, in the style of Semgrep's rule errors."""

from __future__ import annotations

from pathlib import Path

from policy.records import record


@record(slots=True)
class Diagnostic:
    """A problem at a position of an input file (file:line:col), with a code and a hint."""
    file: str
    line: int  # 1-based; 0 when unknown
    col: int  # 1-based; 0 when unknown
    code: str  # short kebab-case code: yaml-syntax, schema, unknown-path, ...
    message: str
    help: str = ""
    severity: str = "error"  # error | warning
    span: int = 1  # characters to underline

    @property
    def location(self) -> str:
        if self.line:
            return f"{self.file}:{self.line}:{self.col or 1}"
        return self.file

    def to_dict(self) -> dict[str, object]:
        return {"file": self.file, "line": self.line, "col": self.col, "code": self.code,
                "severity": self.severity, "message": self.message, "help": self.help}


FRAME_WIDTH = 120  # characters of a source line a code frame shows: a 50 MB line is not echoed whole


def code_frame(text: str, line: int, col: int, span: int = 1, context: int = 1) -> str:
    """Numbered source lines around `line` with a `^^^` marker under the column. Lines longer than FRAME_WIDTH
    show the part around the column, with `…` where they are cut."""
    lines = text.splitlines()
    if not 1 <= line <= len(lines):
        return ""
    first, last = max(1, line - context), min(len(lines), line)
    width = len(str(last))
    caret_col = max(col, 1) - 1
    start = max(0, min(caret_col - FRAME_WIDTH // 2, len(lines[line - 1]) - FRAME_WIDTH))
    out = []
    for n in range(first, last + 1):
        source = lines[n - 1]
        shown = source[start:start + FRAME_WIDTH].expandtabs(4)
        out.append(f" {n:>{width}} | {'…' if start else ''}{shown}{'…' if len(source) > start + FRAME_WIDTH else ''}")
    underline = "^" * max(1, min(span, max(1, len(lines[line - 1]) - caret_col), FRAME_WIDTH))
    out.append(f" {'':>{width}} | {' ' * (caret_col - start + (1 if start else 0))}{underline}")
    return "\n".join(out)


def format_diagnostic(diag: Diagnostic, text: str | None = None) -> str:
    """`file:line:col: error[code]: message`, a code frame when the source is at hand, and `help:`."""
    head = f"{diag.location}: {diag.severity}[{diag.code}]: {diag.message}"
    parts = [head]
    if diag.line:
        if text is None:
            try:
                text = Path(diag.file).read_text(encoding="utf-8-sig", errors="replace")
            except OSError:
                text = None
        if text is not None:
            frame = code_frame(text, diag.line, diag.col, diag.span)
            if frame:
                parts.append(frame)
    if diag.help:
        parts.append(f"  help: {diag.help}")
    return "\n".join(parts)
