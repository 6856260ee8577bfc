"""Worksheet rows as SpreadsheetML XML, built column-wise in polars, and spliced into a finished xlsx.

Why this exists: xlsxwriter spends ~12 µs of Python per cell, so a 100,000-issue
table took seconds. Here each column of a slice of rows becomes the XML of its
cells in one vectorised polars expression, the cells of a row are concatenated
into a `<row>` element, and the slice is joined into one value: Python runs per
slice, not per cell. The rest of the workbook (styles, the small sheets,
charts, document properties) stays with xlsxwriter, and `splice_rows` streams
these rows into the worksheet part it wrote.

The XML is what xlsxwriter writes in constant-memory mode, so readers see the
cells it would have written:

- `<row r="7">`, without the optional `spans` hint; a null value has no `<c>`.
- numbers `<c r="G7"><v>5</v></c>`, with `s="N"` (the xf index of the cell's
  format) when styled; datetimes are Excel serial days with a date format.
- text as inline strings, `<c r="B7" t="inlineStr"><is><t>..</t></is></c>`:
  never a formula nor a number, whatever it looks like.
- text is first cut to Excel's cell limit of 32,767 UTF-16 units without
  splitting a surrogate pair, as xlsxwriter cuts it. Then it is escaped as
  Excel escapes it: the control characters XML 1.0 cannot hold (all below
  U+0020 but tab, newline and carriage return) and U+FFFE/U+FFFF become
  `_xHHHH_`; text that would read back as such an escape gets its underscore
  escaped (`_x0041_` -> `_x005F_x0041_`); `& < >` become entities; and `<t>`
  gets `xml:space="preserve"` when the text starts or ends with white space.
  Unlike xlsxwriter's single substitution, every underscore that would start
  an escape is escaped, also in runs (`_x0041_x0042_`) and before a control
  character (`_x0041` + U+0001), which xlsxwriter let read back as other text.
- datetimes are written as polars prints a Float64: the shortest text that
  reads back as the same double. xlsxwriter prints 16 significant digits,
  which can be a unit in the last place away; readers round serials to the
  millisecond, so they show the same dates and times.

Files stay byte-for-byte reproducible: every zip member is written with the
fixed 1980-01-01 timestamp and deflate, in xlsxwriter's member order.
"""

from __future__ import annotations

import functools
import itertools
import re
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

import polars as pl
from xlsxwriter.utility import xl_col_to_name

# Excel serials count days from 1899-12-30 (exact from March 1900, after Excel's phantom 29 February 1900).
EXCEL_DAYS_BEFORE_UNIX_EPOCH = 25_569
MICROSECONDS_PER_DAY = 86_400_000_000
# Excel's limit on the text of one cell, in UTF-16 code units.
CELL_TEXT_LIMIT = 32_767
ZIP_TIMESTAMP = (1980, 1, 1, 0, 0, 0)
# Bytes of a row's own tags, and of one cell's tags and number, at most; bytes one byte of text becomes, at most.
ROW_TAGS_BOUND = 32
CELL_TAGS_BOUND = 128
ESCAPE_GROWTH = 7  # "\x01" -> "_x0001_"
ROW_NUMBER = "__xlsx_row"  # the 1-based sheet row of each frame row, added while rendering

CellKind = Literal["text", "integer", "datetime"]


@dataclass(frozen=True)
class SheetColumn:
    """One column of a sheet: the frame column its cells come from, their kind and xf style index."""

    name: str
    kind: CellKind
    style: int | None = None


# Control characters XML 1.0 cannot hold (tab, newline and carriage return it can), and the two non-characters:
# Excel writes them as _xHHHH_.
_EXCEL_ESCAPED = [chr(code) for code in range(0x20) if chr(code) not in "\t\n\r"] + ["\ufffe", "\uffff"]
_PATTERNS = [*_EXCEL_ESCAPED, "&", "<", ">"]
_REPLACEMENTS = [*(f"_x{ord(char):04X}_" for char in _EXCEL_ESCAPED), "&amp;", "&lt;", "&gt;"]
# Text that would read back as an escape: "_x0041_", or "_x0041" before a character written as one. Its
# underscore is escaped in turn ("_x005F_x0041_"), every such underscore, also in runs like "_x0041_x0042_".
_ESCAPED_CLASS = "[" + "".join(_EXCEL_ESCAPED) + "]"
_LOOKS_ESCAPED = f"_x[0-9a-fA-F]{{4}}(?:_|{_ESCAPED_CLASS})"
_ESCAPE_START = re.compile(f"_(?=x[0-9a-fA-F]{{4}}(?:_|{_ESCAPED_CLASS}))")


def xml_text(text: pl.Expr) -> pl.Expr:
    """Text (its rare cells already through `prepared_text`) as the content of a `<t>` element."""
    return text.str.replace_many(_PATTERNS, _REPLACEMENTS)


def rare_text(text: pl.Expr) -> pl.Expr:
    """Cells over Excel's limit, or with text that would read as an escape: both rare, both fixed in Python."""
    # A UTF-16 unit is never shorter than a UTF-8 byte, so shorter byte strings are within the limit.
    return (text.str.len_bytes() > CELL_TEXT_LIMIT) | text.str.contains(_LOOKS_ESCAPED)


def prepared_text(frame: pl.DataFrame, names: Sequence[str]) -> list[pl.Series]:
    """The text columns with rare cells, those cells cut to Excel's cell limit and their escape-like text escaped.

    One polars pass over all the columns finds them; usually there are none.
    """
    flagged = frame.select(rare_text(pl.col(name)).any() for name in names).row(0) if names else ()
    return [fix_rare_text(frame[name]) for name, flag in zip(names, flagged) if flag]


def fix_rare_text(series: pl.Series) -> pl.Series:
    rare = series.to_frame().select(rare_text(pl.col(series.name)).arg_true()).to_series()
    fixed = [escape_underscores(utf16_truncate(text)) for text in series.gather(rare)]
    return series.clone().scatter(rare, fixed)  # a copy: the report's own column stays as it is


def utf16_truncate(text: str) -> str:
    """The longest prefix of `text` within CELL_TEXT_LIMIT UTF-16 units (a split surrogate pair is dropped)."""
    return text.encode("utf-16-le")[: 2 * CELL_TEXT_LIMIT].decode("utf-16-le", "ignore")


def escape_underscores(text: str) -> str:
    """`_x0041_` -> `_x005F_x0041_`, so that it reads back as written rather than as "A"."""
    return _ESCAPE_START.sub("_x005F_", text)


def cell_xml(column: SheetColumn, index: int) -> pl.Expr:
    """The `<c>` element of each value in `column` (null where the value is null), in the column's style."""
    start = f'<c r="{xl_col_to_name(index)}'
    style = pl.lit("" if column.style is None else f' s="{column.style}"')
    value, row = pl.col(column.name), pl.col(ROW_NUMBER)
    if column.kind == "text":
        text = xml_text(value)
        # xlsxwriter tests Python's \s after escaping; the regex crate's \s differs only in U+001C-U+001F, escaped by now.
        preserve = pl.when(text.str.contains(r"^\s|\s$")).then(pl.lit(' xml:space="preserve"')).otherwise(pl.lit(""))
        parts = [pl.lit(start), row, pl.lit('"'), style, pl.lit(' t="inlineStr"><is><t'), preserve, pl.lit(">"), text]
        return pl.concat_str([*parts, pl.lit("</t></is></c>")])
    if column.kind == "datetime":
        serial = value.dt.epoch("us") / MICROSECONDS_PER_DAY + EXCEL_DAYS_BEFORE_UNIX_EPOCH
        number = serial.cast(pl.String).str.strip_suffix(".0")
    else:
        number = value.cast(pl.String)
    return pl.concat_str([pl.lit(start), row, pl.lit('"'), style, pl.lit("><v>"), number, pl.lit("</v></c>")])


@functools.lru_cache(maxsize=32)
def rows_expr(columns: tuple[SheetColumn, ...]) -> pl.Expr:
    """All rows as consecutive `<row>` elements, in one value."""
    cells = [cell_xml(column, index) for index, column in enumerate(columns)]
    parts = [pl.lit('<row r="'), pl.col(ROW_NUMBER), pl.lit('">'), *cells, pl.lit("</row>")]
    row = pl.concat_str(parts, ignore_nulls=True)  # a null cell is left out
    return row.str.join("").cast(pl.Binary)  # UTF-8 bytes, ready for the zip


def rows_xml(frame: pl.DataFrame, columns: Sequence[SheetColumn], first_row: int) -> bytes:
    """`frame`'s rows as consecutive `<row>` elements, the first numbered `first_row` (1-based)."""
    if frame.is_empty():
        return b""
    frame = frame.with_columns(
        *prepared_text(frame, [column.name for column in columns if column.kind == "text"]),
        pl.int_range(first_row, first_row + frame.height).cast(pl.String).alias(ROW_NUMBER),
    )
    return frame.select(rows_expr(tuple(columns))).item()


def xml_size_bound(frame: pl.DataFrame, columns: Sequence[SheetColumn], rows: int) -> int:
    """At most how many bytes of XML `rows` rows of `frame`'s text take.

    Every row is counted with all its cells' tags, and the text as if every
    byte were escaped.
    """
    text = [column.name for column in columns if column.kind == "text"]
    text_bytes = frame.select(pl.sum_horizontal(pl.col(text).str.len_bytes().sum())).item() if text else 0
    return rows * (ROW_TAGS_BOUND + CELL_TAGS_BOUND * len(columns)) + ESCAPE_GROWTH * (text_bytes or 0)


def cell_range(last_row: int, last_column: int) -> str:
    """The A1-style range from A1 to the given 1-based row and 0-based column ("A1" for one cell)."""
    if last_row == 1 and last_column == 0:
        return "A1"
    return f"A1:{xl_col_to_name(last_column)}{last_row}"


def splice_rows(
    workbook: BinaryIO,
    path: Path,
    part: str,
    dimension: str,
    rows: Iterable[bytes],
    size_hint: int = 0,
    table_ranges: Mapping[str, str] | None = None,
) -> None:
    """Copy the xlsx `workbook` to `path`, appending `rows` to the sheet data of worksheet `part`.

    The worksheet's `<dimension>` becomes `dimension`, and each table named in
    `table_ranges` (display name -> range) is widened to its range: the table
    is declared over its header and first row, where the rows will go. Every
    member is copied in order, so the result differs from `workbook` only in
    those parts; the rows are streamed into the zip as they come, so the sheet
    never sits in memory whole. `size_hint` is an upper bound of the rows'
    bytes: Zip64 headers when needed.
    """
    with zipfile.ZipFile(workbook) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for member in source.infolist():
            info = zipfile.ZipInfo(member.filename, ZIP_TIMESTAMP)
            info.compress_type = zipfile.ZIP_DEFLATED
            if member.filename.startswith("xl/tables/") and table_ranges:
                target.writestr(info, resized_table(source.read(member).decode(), table_ranges).encode())
                continue
            if member.filename != part:
                target.writestr(info, source.read(member))
                continue
            head, end, tail = source.read(member).decode().partition("</sheetData>")
            if not end:
                raise ValueError(f"{part} has no sheet data to add rows to")
            head = re.sub(r'<dimension ref="[^"]*"/>', f'<dimension ref="{dimension}"/>', head, count=1)
            info.file_size = size_hint + len(head) + len(end + tail)  # zipfile picks Zip64 from this
            with target.open(info, "w") as stream:
                write_overlapped(stream, itertools.chain([head.encode()], rows, [(end + tail).encode()]))


def resized_table(table_xml: str, table_ranges: Mapping[str, str]) -> str:
    """A table part's XML with its range, and its filter's, set as `table_ranges` says for its display name.

    For tables without a totals row, whose filter covers the whole table; others come back unchanged.
    """
    name = re.search(r'displayName="([^"]*)"', table_xml)
    if name is None or name.group(1) not in table_ranges or 'totalsRowCount="' in table_xml:
        return table_xml
    return re.sub(r' ref="[^"]*"', f' ref="{table_ranges[name.group(1)]}"', table_xml, count=2)


def write_overlapped(stream: BinaryIO, chunks: Iterable[bytes]) -> None:
    """Write `chunks` to `stream` in a second thread, so deflating one overlaps making the next.

    zlib and polars both release the GIL, so on two cores the two halves of the
    work (about equal for an issue table) run side by side. At most one chunk
    waits to be written while the next is made, which bounds memory.
    """
    with ThreadPoolExecutor(max_workers=1) as writer:
        writing: Future | None = None
        for chunk in chunks:
            if writing is not None:
                writing.result()  # re-raises the writer's error, if any
            writing = writer.submit(stream.write, chunk)
        if writing is not None:
            writing.result()
