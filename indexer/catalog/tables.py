"""Products as a table: ``products.csv`` and ``products.xlsx``, rows -> the JSON shape
``parse.parse_product`` takes.

A CSV file is decoded in one encoding, chosen per file (never per line: a GBK file must
not be half read as UTF-8): UTF-8, UTF-8 with a BOM, or GB18030 (which covers GBK and
GB2312: what a Chinese Excel saves as "CSV"). A quoted cell may run over several lines.
An ``.xlsx`` workbook is read from its first sheet. Either way the first non-blank row is
the header, and a row that cannot be read becomes a reject with the line it starts on
(CSV) or its sheet row (xlsx) and, when it has one, its id.
"""
from __future__ import annotations

import codecs
import csv
import datetime as dt
import json
import re
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from indexer.catalog.parse import InvalidRecord

UTF8, UTF8_BOM, GB18030 = "UTF-8", "UTF-8 with BOM", "GB18030"
#: Share of a line's non-ASCII characters that must be common Chinese (GB2312) for the
#: line to count as GB18030 text: Latin-1 or UTF-8 bytes read as GB18030 decode to rare
#: characters of the GBK extension, Chinese product text almost only to common ones.
_CHINESE_SHARE = 0.8
_ASCII = re.compile(r"[\x00-\x7f]+")
#: A workbook that unpacks to more than this is refused before openpyxl reads it.
#: (256 MiB holds half a million products; a zip bomb, or one huge cell, stops here before
#: openpyxl parses it: it reads a cell whole, however long, before cutting it to Excel's
#: 32,767 characters.)
MAX_XLSX_UNPACKED = 256 << 20


class Row(NamedTuple):
    """One record of a catalog file: its line (for a table, the line or sheet row it starts
    on; 0 when the problem is the whole file), the object read (or just ``{"id": ...}``
    when the row is refused), and why it was refused."""
    line: int
    obj: Any
    error: str | None
    # Lines inside this row's quoted cells that look like rows of their own (a quote left
    # open swallows the rows after it): records may be on them.
    swallowed: tuple[int, ...] = ()


@dataclass
class ReadInfo:
    """How a table file was read, for the person who made it."""
    encoding: str | None = None
    notes: list[str] = field(default_factory=list)
    header_line: int = 0                # 0: no header row found (an empty file or sheet)


# ----------------------------------------------------------------------------- cells -> a product


def _split(cell: str) -> list[str]:
    return [p.strip() for p in cell.split(";") if p.strip()] if cell else []


def csv_row_to_product(row: dict[str, str]) -> dict[str, Any]:
    """A products.csv row as the JSON shape ``parse_product`` takes.

    Columns: id, factory, title_<lang>..., description, category, attributes (JSON object
    or ``k=v;k=v``), price_tiers (``min_qty:price;...``), currency, moq, images (``a;b``),
    dupe_of (``x;y``).
    """
    obj: dict[str, Any] = {"titles": {}}
    for key, value in row.items():
        if key is None:
            raise InvalidRecord("row has more cells than the header")
        value = (value or "").strip()
        if key.startswith("title_"):
            obj["titles"][key[len("title_"):]] = value
        elif key == "attributes":
            if value.startswith("{"):
                try:
                    obj["attributes"] = json.loads(value)
                except (ValueError, RecursionError):     # JSONDecodeError, too deep, too long
                    raise InvalidRecord("attributes is not valid JSON") from None
            else:
                pairs = [p.split("=", 1) for p in _split(value)]
                if any(len(p) != 2 for p in pairs):
                    raise InvalidRecord("attributes must be k=v;k=v or a JSON object")
                obj["attributes"] = {k.strip(): v.strip() for k, v in pairs}
        elif key == "price_tiers":
            tiers = []
            for part in _split(value):
                q, _, p = part.partition(":")
                try:
                    tiers.append({"min_qty": int(q), "price": float(p)})
                except ValueError:
                    raise InvalidRecord(f"price tier {part!r} is not min_qty:price") from None
            obj["price_tiers"] = tiers
        elif key == "moq":
            try:
                obj["moq"] = int(value) if value else None
            except ValueError:
                raise InvalidRecord(f"moq {value!r} is not a whole number") from None
        elif key in ("images", "dupe_of"):
            obj[key] = _split(value)
        elif value:
            obj[key] = value
    return obj


def _table_row(fields: Sequence[str], cells: list[str], line: int, error: str | None = None,
               swallowed: tuple[int, ...] = ()) -> Row:
    """A row of cells under ``fields`` (the header): a product, or a reject that names the
    row's id when it has one."""
    while len(cells) > len(fields) and not cells[-1].strip():
        cells = cells[:-1]              # empty cells past the header (spreadsheets pad rows)
    at = fields.index("id") if "id" in fields else None
    rid = cells[at].strip() if at is not None and at < len(cells) else ""
    given = {"id": rid} if rid else None
    if error is None and len(cells) > len(fields):
        error = f"row has {len(cells)} cells, header has {len(fields)}"
    unnamed = [i + 1 for i, (name, cell) in enumerate(zip(fields, cells)) if not name and cell.strip()]
    if error is None and unnamed:
        error = f"column {unnamed[0]} has a value but no name in the header row"
    if error is not None:
        return Row(line, given, error, swallowed)
    try:
        return Row(line, csv_row_to_product(dict(zip(fields, cells))), None, swallowed)
    except InvalidRecord as e:
        return Row(line, given, str(e), swallowed)


# ----------------------------------------------------------------------------- CSV


def _looks_chinese(raw: bytes) -> bool:
    """Whether a line with non-ASCII bytes reads as Chinese text in GB18030."""
    try:
        text = raw.decode("gb18030")
    except UnicodeDecodeError:
        return False
    wide = _ASCII.sub("", text)
    common = len(wide.encode("gb2312", "ignore")) // 2        # GB2312 characters are two bytes each
    return common >= _CHINESE_SHARE * len(wide)


def detect_encoding(data: bytes) -> str:
    """``UTF8_BOM``, ``UTF8`` or ``GB18030``, for the whole file. A file that is not all
    UTF-8 is GB18030 only if more of its non-ASCII lines read as Chinese in GB18030 than
    decode as UTF-8: a UTF-8 file with a few broken lines stays UTF-8 (those lines are
    rejected), and so does a file in neither encoding."""
    if data.startswith(codecs.BOM_UTF8):
        return UTF8_BOM
    try:
        data.decode("utf-8")
        return UTF8
    except UnicodeDecodeError:
        pass
    utf8 = chinese = 0
    for raw in data.split(b"\n"):
        if raw.isascii():
            continue
        try:
            raw.decode("utf-8")
            utf8 += 1
        except UnicodeDecodeError:
            chinese += _looks_chinese(raw)
    return GB18030 if chinese > utf8 else UTF8


def _decoded_lines(data: bytes, encoding: str) -> tuple[list[str], dict[int, str]]:
    """The file's lines (split on ``\\n``, each ending with it, as the csv reader wants them)
    and, by line number, why a line does not decode. Such a line is still passed on, its
    bad bytes as surrogate escapes, so the cells around it stay in step (and its id is
    known); its record is rejected."""
    if encoding == UTF8_BOM:
        data = data[len(codecs.BOM_UTF8):]
    codec = "gb18030" if encoding == GB18030 else "utf-8"
    lines: list[str] = []
    bad: dict[int, str] = {}
    for no, raw in enumerate(data.split(b"\n"), start=1):
        try:
            text = raw.decode(codec)
        except UnicodeDecodeError as e:
            bad[no] = f"invalid {'GB18030' if codec == 'gb18030' else 'UTF-8'} at byte {e.start}"
            text = raw.decode(codec, "surrogateescape")
        lines.append(text + "\n")
    if lines and lines[-1] == "\n":
        lines.pop()                     # the file's last newline ends a line, it starts none
    return lines, bad


def _row_like(line: str, n_fields: int) -> bool:
    """Whether a line inside a quoted cell looks like a row of its own (a quote left open
    swallowed it) rather than a line of a multi-line description: on its own it has
    (nearly) as many cells as the header, and it does not end the quoted cell (the line
    that does holds the rest of the row, but its first cell holds the closing quote)."""
    try:
        cells = next(csv.reader([line]), [])
    except csv.Error:
        return False
    return n_fields > 2 and len(cells) >= n_fields - 1 and '"' not in cells[0]


def _id_cell(line: str, fields: Sequence[str]) -> dict[str, str] | None:
    """``{"id": ...}`` from the id cell of a line read on its own (a row the csv reader
    could not read whole), or None."""
    try:
        cells = next(csv.reader([line]), [])
    except csv.Error:
        return None
    at = fields.index("id") if "id" in fields else len(cells)
    return {"id": cells[at].strip()} if at < len(cells) and cells[at].strip() else None


def _csv_rows(lines: list[str], bad: dict[int, str], info: ReadInfo, hint: str = "") -> Iterator[Row]:
    reader = csv.reader(lines)          # lines keep their "\n": a quoted cell may run over several
    fields: list[str] | None = None
    while True:
        start = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as e:          # e.g. a cell over the size limit: a quote left open
            given = _id_cell(lines[start - 1], fields) if fields and start <= len(lines) else None
            yield Row(start, given, f"invalid CSV: {e}", tuple(range(start + 1, reader.line_num + 1)))
            continue
        end = reader.line_num
        if not any(c.strip() for c in cells):
            continue
        broken = [no for no in range(start, end + 1) if no in bad]
        error = None
        if broken:
            where = "" if broken[0] == start else f"line {broken[0]}: "
            error = f"{where}{bad[broken[0]]}{hint}"
        if fields is None:
            if error:
                yield Row(start, None, f"the header row cannot be read ({error}): no row of this file is read")
                return
            fields = [c.strip() for c in cells]
            info.header_line = start
            continue
        cells = [c.replace("\r\n", "\n") for c in cells]
        swallowed = tuple(no for no in range(start + 1, end + 1) if _row_like(lines[no - 1], len(fields)))
        yield _table_row(fields, cells, start, error, swallowed)


def read_csv(path: Path, info: ReadInfo | None = None) -> Iterator[Row]:
    """The rows of ``products.csv``; ``info`` gets the encoding it was read in."""
    info = info if info is not None else ReadInfo()
    data = path.read_bytes()
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        yield Row(0, None, "the file is UTF-16 (Excel's 'Unicode Text'), not CSV: save it as 'CSV UTF-8' "
                           "or as products.xlsx")
        return
    if b"\n" not in data and b"\r" in data:
        data = data.replace(b"\r", b"\n")        # old Mac line ends (Excel for Mac's "CSV (Macintosh)")
    info.encoding = detect_encoding(data)
    lines, bad = _decoded_lines(data, info.encoding)
    hint = ""
    if info.encoding == GB18030:
        info.notes.append("read as GB18030 (GBK: a Chinese Excel export), not UTF-8")
    elif len(bad) > sum(1 for line in lines if not line.isascii()) - len(bad):
        # Most lines with non-ASCII text are broken: the file is in another encoding.
        hint = " (the file is neither UTF-8 nor GB18030/GBK: save it as 'CSV UTF-8')"
        info.notes.append(f"read as {info.encoding}, but {len(bad)} lines are not UTF-8{hint}")
    else:
        info.notes.append(f"read as {info.encoding}")
    yield from _csv_rows(lines, bad, info, hint)


# ----------------------------------------------------------------------------- xlsx


def _not_xlsx(path: Path) -> str | None:
    """Why the file cannot be an .xlsx workbook, judged before openpyxl opens it."""
    with path.open("rb") as f:
        head = f.read(8)
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return ("an Excel 97-2003 (.xls) or password-protected workbook, not .xlsx: save it as "
                "'Excel Workbook (.xlsx)' without a password")
    if not head.startswith(b"PK\x03\x04"):
        return "not an Excel .xlsx workbook (a CSV or another file renamed?)"
    try:
        with zipfile.ZipFile(path) as z:
            unpacked = sum(i.file_size for i in z.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        return f"not a readable .xlsx workbook (damaged zip: {e})"
    if unpacked > MAX_XLSX_UNPACKED:
        return f"the workbook unpacks to {unpacked / 2**20:.1f} MiB, over {MAX_XLSX_UNPACKED / 2**20:g} MiB"
    return None


def _cell_text(value: Any) -> str:
    """A cell as the text a CSV would hold (whole numbers without '.0')."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _dated(fields: Sequence[str], values: Sequence[Any]) -> str | None:
    """Why a row is refused if Excel stored one of its cells as a date or time: a tier typed
    as ``2:30`` becomes the time 02:30 unless the column is formatted as text."""
    for name, value in zip(fields, values):
        if isinstance(value, (dt.datetime, dt.date, dt.time, dt.timedelta)):
            return (f"column '{name}': Excel stored this cell as a date or time ({value}), not as text: "
                    "format the column as Text and type the cell again")
    return None


def _sheet_rows(rows: Iterable[Sequence[Any]], info: ReadInfo) -> Iterator[Row]:
    fields: list[str] | None = None
    for no, values in enumerate(rows, start=1):         # blank rows come as (): numbers stay the sheet's
        cells = [_cell_text(v) for v in values]
        if not any(c.strip() for c in cells):
            continue
        if fields is None:
            fields = [c.strip() for c in cells]
            while fields and not fields[-1]:
                fields.pop()
            info.header_line = no
            continue
        yield _table_row(fields, cells, no, _dated(fields, values))


def read_xlsx(path: Path, info: ReadInfo | None = None) -> Iterator[Row]:
    """The rows of the first sheet of ``products.xlsx``; ``info`` notes which sheet."""
    info = info if info is not None else ReadInfo()
    problem = _not_xlsx(path)
    if problem:
        yield Row(0, None, problem)
        return
    try:
        import openpyxl
    except ImportError:
        yield Row(0, None, "reading .xlsx needs the openpyxl package (pip install openpyxl)")
        return
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as e:      # a damaged or hostile workbook fails in many ways: each is a reject
        yield Row(0, None, f"cannot be read as an .xlsx workbook ({type(e).__name__}: {str(e)[:200]})")
        return
    try:
        sheets = book.worksheets
        if not sheets:
            return
        sheet = sheets[0]
        others = f" (the first of {len(sheets)} sheets: the others are not read)" if len(sheets) > 1 else ""
        info.notes.append(f"read sheet {sheet.title!r}{others}")
        sheet.reset_dimensions()    # some writers record a wrong sheet size: read every row there is
        no = 0
        try:
            for row in _sheet_rows(sheet.iter_rows(values_only=True), info):
                no = row.line
                yield row
        except Exception as e:  # damaged sheet XML: which rows follow cannot be known
            yield Row(no + 1, None, f"the sheet cannot be read after row {no} ({type(e).__name__}: {str(e)[:200]})")
            return
        if not info.header_line and len(sheets) > 1:
            yield Row(0, None, f"the first sheet ({sheet.title!r}) has no rows: products are read from the "
                               "first sheet only")
    finally:
        book.close()
