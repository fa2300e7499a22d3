"""Catalogs as merchants have them: ``products.xlsx``, CSV from a Chinese Excel (GB18030/GBK)
or with a BOM, quoted cells over several lines; ISO 4217 currencies; MOQ and price-tier
consistency (rejects and warnings, each with its file, line and id).

Every file is built here (openpyxl, ``str.encode``): no binary fixture.
"""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from indexer.catalog.parse import InvalidRecord, parse_brand_product, parse_product
from indexer.catalog.reader import load_catalog
from indexer.catalog.tables import GB18030, UTF8, UTF8_BOM, detect_encoding
from tests.fakes import tiny_catalog

HEADER = "id,factory,title_zh,title_en,description,category,attributes,price_tiers,currency,moq,images,dupe_of"
GOOD = {"id": "p9", "factory": "f-plain", "titles": {"en": "Thing"}, "category": "x",
        "price_tiers": [{"min_qty": 1, "price": 10}], "currency": "CNY", "moq": 1}


def _warnings(obj: dict) -> list[str]:
    found: list[str] = []
    parse_product(obj, found.append)
    return found


def _csv_rejects(cat, name: str = "products.csv") -> dict[int, tuple[str | None, str]]:
    return {r.line: (r.record_id, r.reason) for r in cat.rejects if r.file == name}


# ----------------------------------------------------------------------------- currencies


@pytest.mark.parametrize("code, fragment", [
    ("RMB", "use CNY"), ("rmb", "use CNY"), ("CNH", "use CNY"), ("HRK", "use EUR"),
    ("XYZ", "not an ISO 4217 currency code"), ("ABC", "not an ISO 4217 currency code"),
    ("XAU", "not an ISO 4217 currency code"),            # gold is ISO 4217, but not a price of goods
])
def test_currency_must_be_an_iso_4217_code_in_circulation(code, fragment):
    with pytest.raises(InvalidRecord, match=f"field 'currency': '{code.upper()}' .*{fragment}"):
        parse_product({**GOOD, "currency": code})
    with pytest.raises(InvalidRecord, match=f"field 'currency': .*{fragment}"):
        parse_brand_product({"id": "bp", "brand": "b", "titles": {"en": "x"}, "category": "x", "price": 5,
                             "currency": code})


@pytest.mark.parametrize("code", ["CNY", "usd", "EUR", "JPY", "KRW", "VND", "RUB", "HKD", "GBP", "XCG"])
def test_real_currency_codes_are_kept_upper_case(code):
    assert parse_product({**GOOD, "currency": code}).currency == code.upper()


def test_rmb_in_every_catalog_format_is_rejected_with_its_line_and_id(tmp_path):
    folder = tiny_catalog(tmp_path / "cat")
    with (folder / "brand_products.jsonl").open("a", encoding="utf-8") as f:
        f.write(json.dumps({"id": "bp-rmb", "brand": "lululemon", "titles": {"en": "x"}, "category": "leggings",
                            "price": 850, "currency": "RMB"}) + "\n")
    (folder / "products.csv").write_text(f"{HEADER}\nc-rmb,f-oem,,Tee,,tshirt,,2:30,RMB,2,,\n", encoding="utf-8")
    _xlsx(folder / "products.xlsx", [HEADER.split(","), ["x-rmb", "f-oem", "", "Tee", "", "tshirt", "", "2:30",
                                                          "RMB", 2, "", ""]])
    cat = load_catalog(folder)
    got = {(r.file, r.line, r.record_id) for r in cat.rejects if "use CNY" in r.reason}
    assert got == {("brand_products.jsonl", 3, "bp-rmb"), ("products.csv", 2, "c-rmb"),
                   ("products.xlsx", 2, "x-rmb")}


# ----------------------------------------------------------------------------- MOQ and price tiers


def test_moq_above_the_first_tier_is_a_warning_and_the_product_is_kept():
    found = _warnings({**GOOD, "moq": 500, "price_tiers": [{"min_qty": 2, "price": 30}, {"min_qty": 100, "price": 22},
                                                           {"min_qty": 1000, "price": 18}]})
    assert found == ["moq 500 is above the first price tier (2 pieces): the tiers from 2 and 100 pieces "
                     "cannot be ordered"]


def test_moq_below_the_first_tier_is_a_reject_as_no_price_applies():
    with pytest.raises(InvalidRecord, match=r"moq 1 is below the first price tier \(100 pieces\): orders of 1 to 99"):
        parse_product({**GOOD, "moq": 1, "price_tiers": [{"min_qty": 100, "price": 8}]})


def test_tiers_out_of_order_or_rising_in_price_are_warnings_and_read_sorted():
    obj = {**GOOD, "price_tiers": [{"min_qty": 100, "price": 12}, {"min_qty": 1, "price": 10}]}
    found: list[str] = []
    p = parse_product(obj, found.append)
    assert [t.min_qty for t in p.price_tiers] == [1, 100]
    assert found == ["price_tiers are not in ascending min_qty order (100, 1): read sorted",
                     "price_tiers: the price rises with the quantity (10 from 1 piece, 12 from 100)"]


def test_consistent_tiers_give_no_warning_and_no_warning_leaks_from_a_rejected_record():
    assert _warnings({**GOOD, "moq": 2, "price_tiers": [{"min_qty": 2, "price": 30}, {"min_qty": 50, "price": 30},
                                                        {"min_qty": 100, "price": 22}]}) == []
    found: list[str] = []
    with pytest.raises(InvalidRecord, match="ISO 4217"):
        parse_product({**GOOD, "moq": 50, "currency": "RMB"}, found.append)      # would warn: MOQ above tier
    assert found == []


def test_seeds_load_with_no_rejects_and_no_warnings():
    cat = load_catalog(Path(__file__).resolve().parent.parent / "seeds")
    assert cat.products and cat.rejects == [] and cat.warnings == []


# ----------------------------------------------------------------------------- CSV encodings


ROWS_ZH = [
    "c1,f-oem,速干T恤 男款,Quick-dry tee,\"透气面料，夏季必备\",tshirt,材质=涤纶;克重=120g,2:30;100:22,CNY,2,,bp-align",
    "c2,f-oem,纯棉白衬衫,White shirt,,shirt,,5:45,CNY,5,,",
    "c3,f-oem,冰丝防晒衣,Sun hoodie,,hoodie,,10:39;500:29,CNY,10,,",
]


def _write_csv(folder: Path, rows: list[str], encoding: str, bom: bytes = b"", newline: str = "\n") -> Path:
    path = folder / "products.csv"
    path.write_bytes(bom + newline.join([HEADER, *rows, ""]).encode(encoding))
    return path


@pytest.mark.parametrize("encoding, bom, expected", [
    ("utf-8", b"", UTF8), ("utf-8", b"\xef\xbb\xbf", UTF8_BOM), ("gbk", b"", GB18030), ("gb18030", b"", GB18030),
])
def test_a_csv_is_read_in_its_encoding_and_the_encoding_reported(tmp_path, encoding, bom, expected):
    folder = tiny_catalog(tmp_path / "cat")
    _write_csv(folder, ROWS_ZH, encoding, bom, newline="\r\n")          # Excel on Windows
    cat = load_catalog(folder)
    assert _csv_rejects(cat) == {}
    assert cat.encodings == {"products.csv": expected}
    assert cat.products["c1"].titles == {"zh": "速干T恤 男款", "en": "Quick-dry tee"}
    assert cat.products["c1"].attributes == {"材质": "涤纶", "克重": "120g"}
    assert cat.products["c1"].description == "透气面料，夏季必备"
    assert cat.products["c3"].titles["zh"] == "冰丝防晒衣"
    assert any(n.startswith(f"products.csv: read as {expected}") for n in cat.notes), cat.notes


def test_gbk_is_decided_for_the_whole_file_and_a_broken_gbk_line_is_one_reject(tmp_path):
    folder = tiny_catalog(tmp_path / "cat")
    data = "\n".join([HEADER, *ROWS_ZH, ""]).encode("gbk")
    data = data.replace("纯棉白衬衫".encode("gbk"), b"\xff\xfe\xfd")       # no GB18030 character
    (folder / "products.csv").write_bytes(data)
    cat = load_catalog(folder)
    assert cat.encodings["products.csv"] == GB18030
    assert _csv_rejects(cat) == {3: ("c2", "invalid GB18030 at byte 9")}
    assert cat.products["c1"].titles["zh"] == "速干T恤 男款" and "c3" in cat.products


def test_a_utf8_csv_with_one_bad_line_stays_utf8_with_one_reject_naming_its_id(tmp_path):
    folder = tiny_catalog(tmp_path / "cat")
    rows = [*ROWS_ZH, "c4,f-oem,,Caf\xe9 mug,,mug,,2:30,CNY,2,,"]
    data = "\n".join([HEADER, *rows, ""]).encode("utf-8").replace("Caf\xe9".encode(), b"Caf\xe9")  # Latin-1 e
    (folder / "products.csv").write_bytes(data)
    assert detect_encoding(data) == UTF8
    cat = load_catalog(folder)
    assert cat.encodings["products.csv"] == UTF8
    assert _csv_rejects(cat) == {5: ("c4", "invalid UTF-8 at byte 13")}
    assert {"c1", "c2", "c3"} <= set(cat.products)
    assert cat.products["c1"].titles["zh"] == "速干T恤 男款"            # not half read as GBK
    assert "c4" not in cat.unreadable.get("products.csv", [])


def test_a_csv_in_neither_encoding_says_so_on_each_bad_line(tmp_path):
    folder = tiny_catalog(tmp_path / "cat")
    rows = ["c1,f-oem,,Crème brûlée cup,,cup,,2:30,CNY,2,,", "c2,f-oem,,Café tee,,tshirt,,2:30,CNY,2,,"]
    (folder / "products.csv").write_bytes("\n".join([HEADER, *rows, ""]).encode("cp1252"))
    cat = load_catalog(folder)
    rejects = _csv_rejects(cat)
    assert set(rejects) == {2, 3} and rejects[2][0] == "c1"
    assert all("neither UTF-8 nor GB18030/GBK: save it as 'CSV UTF-8'" in reason for _, reason in rejects.values())


def test_a_utf16_file_is_one_clear_reject_and_keeps_indexed_records(tmp_path):
    folder = tiny_catalog(tmp_path / "cat")
    (folder / "products.csv").write_bytes("\n".join([HEADER, *ROWS_ZH]).encode("utf-16"))
    cat = load_catalog(folder)
    assert [(r.line, r.record_id) for r in cat.rejects] == [(0, None)]
    assert "UTF-16" in cat.rejects[0].reason and "CSV UTF-8" in cat.rejects[0].reason
    assert cat.unreadable == {"products.csv": [0]}      # records from it stay indexed, not removed


def test_old_mac_line_ends_are_lines(tmp_path):
    folder = tiny_catalog(tmp_path / "cat")
    _write_csv(folder, [*ROWS_ZH, "c4,f-oem,,Tee,,tshirt,,2:30,RMB,2,,"], "gbk", newline="\r")
    cat = load_catalog(folder)
    assert {"c1", "c2", "c3"} <= set(cat.products) and list(_csv_rejects(cat)) == [5]


@pytest.mark.parametrize("encoding", ["utf-8", "gb18030"])
def test_detection_needs_no_chinese_to_be_right_on_ascii(encoding):
    data = "\n".join([HEADER, "c1,f-oem,,Tee,,tshirt,,2:30,CNY,2,,"]).encode(encoding)
    assert detect_encoding(data) == UTF8


# ----------------------------------------------------------------------------- CSV cells and lines


def test_a_quoted_cell_over_several_lines_is_one_record_and_lines_stay_physical(tmp_path):
    folder = tiny_catalog(tmp_path / "cat")
    (folder / "products.csv").write_text(
        f"{HEADER}\n"
        'm1,f-oem,,Tee,"Line one,\nline two\n\nline four",tshirt,,2:30,CNY,2,,\n'       # lines 2-5
        "m2,f-oem,,Tee,,tshirt,,2:thirty,CNY,2,,\n"                                     # line 6
        '"m3",f-oem,,Tee,"a\r\nb",tshirt,,2:30,RMB,2,,\n'                              # lines 7-8
        "\n"
        ",,,,,,,,,,,\n"                                                                 # blank rows
        "m4,f-oem,,Tee,,tshirt,,2:30,CNY,2,,\n", encoding="utf-8")                      # line 11
    cat = load_catalog(folder)
    assert cat.products["m1"].description == "Line one,\nline two\n\nline four"
    assert "m4" in cat.products
    rejects = _csv_rejects(cat)
    assert set(rejects) == {6, 7}
    assert rejects[6][0] == "m2" and "min_qty:price" in rejects[6][1]
    assert rejects[7][0] == "m3" and "use CNY" in rejects[7][1]
    assert "products.csv" not in cat.unreadable                 # every reject has its id


def test_a_quote_left_open_keeps_the_swallowed_rows_indexed(tmp_path):
    folder = tiny_catalog(tmp_path / "cat")
    (folder / "products.csv").write_text(
        f"{HEADER}\n"
        'q1,f-oem,,"12 inch sleeve,,laptop,,2:30,CNY,2,,\n'       # the quote is never closed
        "q2,f-oem,,Tee,,tshirt,,2:30,CNY,2,,\n"
        "q3,f-oem,,Tee,,tshirt,,2:30,CNY,2,,\n", encoding="utf-8")
    cat = load_catalog(folder)
    rejects = _csv_rejects(cat)
    assert list(rejects) == [2] and rejects[2][0] == "q1"
    assert "a quote left open? The quoted cell that starts on line 2 runs over lines 3, 4" in rejects[2][1]
    assert cat.unreadable["products.csv"] == [3, 4]             # q2, q3 may be there: not removed


def test_a_quote_left_open_in_the_last_cell_of_a_kept_row_keeps_the_swallowed_rows_indexed(tmp_path):
    """The row that swallowed others may be valid (its open quote is in its last cell): it
    is kept with a warning, and the rows it swallowed still may hold records."""
    folder = tiny_catalog(tmp_path / "cat")
    (folder / "products.csv").write_text(
        "id,factory,title_en,category,price_tiers,currency,moq,description\n"
        'k1,f-oem,Sleeve,laptop,2:30,CNY,2,"never closed\n'
        "k2,f-oem,Tee,tshirt,2:30,CNY,2,\n"
        "k3,f-oem,Tee,tshirt,2:30,CNY,2,\n", encoding="utf-8")
    cat = load_catalog(folder)
    assert "k1" in cat.products and "k2" not in cat.products
    assert any("check its quotes" in w.reason for w in cat.warnings)
    assert cat.unreadable["products.csv"] == [3, 4]             # k2, k3 may be there: not removed


def test_a_multi_line_cell_early_in_the_row_is_not_taken_for_an_open_quote(tmp_path):
    folder = tiny_catalog(tmp_path / "cat")
    (folder / "products.csv").write_text(
        "id,description,factory,title_en,category,price_tiers,currency,moq\n"
        'e1,"first line\nlast line",f-oem,Tee,tshirt,2:30,CNY,2\n'
        'e2,"first line\n""quoted"" last",f-oem,Tee,tshirt,2:30,RMB,2\n', encoding="utf-8")
    cat = load_catalog(folder)
    assert cat.products["e1"].description == "first line\nlast line" and cat.warnings == []
    assert list(_csv_rejects(cat)) == [4] and "products.csv" not in cat.unreadable


README_EXAMPLE = (
    "id,factory,title_zh,title_en,description,category,attributes,price_tiers,currency,moq,images,dupe_of\n"
    'yl-001,f-oem,高腰裸感瑜伽裤,High-rise nude-feel yoga leggings,"Brushed nylon/spandex, 4-way stretch.\n'
    'Squat-proof; hidden waistband pocket.",leggings,material=nylon 75% spandex 25%;weight=220gsm,2:79;100:59;1000:49,'
    "CNY,2,img/yl-001.jpg;img/yl-001-back.jpg,bp-align\n"
    'ts-014,f-plain,速干T恤 男款,Quick-dry tee,,tshirt,"{""material"": ""polyester"", ""sizes"": ""S;M;L;XL""}",'
    "5:30;200:22,CNY,5,https://cdn.example.com/ts-014.jpg,\n")


def test_the_cell_syntax_documented_in_the_readme(tmp_path):
    folder = tiny_catalog(tmp_path / "cat")
    (folder / "products.csv").write_text(README_EXAMPLE, encoding="utf-8")
    cat = load_catalog(folder)
    assert cat.rejects == [] and cat.warnings == []
    yl, ts = cat.products["yl-001"], cat.products["ts-014"]
    assert yl.description == "Brushed nylon/spandex, 4-way stretch.\nSquat-proof; hidden waistband pocket."
    assert yl.attributes == {"material": "nylon 75% spandex 25%", "weight": "220gsm"}
    assert [(t.min_qty, t.price) for t in yl.price_tiers] == [(2, 79.0), (100, 59.0), (1000, 49.0)]
    assert yl.images == ("img/yl-001.jpg", "img/yl-001-back.jpg") and yl.dupe_of == ("bp-align",)
    assert ts.attributes == {"material": "polyester", "sizes": "S;M;L;XL"} and ts.dupe_of == ()


def test_rejects_of_rows_with_too_many_cells_name_the_id_and_padding_is_ignored(tmp_path):
    folder = tiny_catalog(tmp_path / "cat")
    (folder / "products.csv").write_text(
        f"{HEADER}\n"
        "w1,f-oem,,Tee,,tshirt,,2:30,CNY,2,,,,,\n"                 # Excel pads with empty cells
        "w2,f-oem,,Tee,,tshirt,,2:30,CNY,2,,,extra\n", encoding="utf-8")
    cat = load_catalog(folder)
    assert "w1" in cat.products
    assert _csv_rejects(cat) == {3: ("w2", "row has 13 cells, header has 12")}


def test_tier_warnings_carry_file_line_and_id(tmp_path):
    folder = tiny_catalog(tmp_path / "cat")
    (folder / "products.csv").write_text(
        f"{HEADER}\n"
        "t1,f-oem,,Tee,,tshirt,,2:30;100:22,CNY,500,,\n"
        "t2,f-oem,,Tee,,tshirt,,100:22;2:30,CNY,2,,\n"
        "t3,f-oem,,Tee,,tshirt,,100:22,CNY,1,,\n", encoding="utf-8")
    cat = load_catalog(folder)
    assert {"t1", "t2"} <= set(cat.products) and "t3" not in cat.products
    warned = {(w.file, w.line, w.record_id): w.reason for w in cat.warnings}
    assert set(warned) == {("products.csv", 2, "t1"), ("products.csv", 3, "t2")}
    assert warned[("products.csv", 2, "t1")].startswith("moq 500 is above the first price tier (2 pieces)")
    assert str(cat.warnings[0]).startswith("products.csv:2 [t1]: moq 500")
    assert "below the first price tier" in _csv_rejects(cat)[4][1]


# ----------------------------------------------------------------------------- xlsx


def _xlsx(path: Path, rows: list[list], *, more_sheets: int = 0, title: str = "Products") -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = title
    for row in rows:
        sheet.append(row)
    for i in range(more_sheets):
        book.create_sheet(f"Other{i}").append(["not", "read"])
    book.save(path)
    return path


def test_xlsx_products_are_read_from_the_first_sheet_with_rejects_by_sheet_row(tmp_path):
    folder = tiny_catalog(tmp_path / "cat")
    header = HEADER.split(",")
    _xlsx(folder / "products.xlsx", [
        header,
        ["x1", "f-oem", "速干T恤", "Quick-dry tee", "透气\n速干", "tshirt", "material=polyester", "2:30;100:22",
         "cny", 2, "img/p1.jpg", "bp-align"],
        [],                                                                              # row 3: blank
        [1001, "f-oem", "", "Numbered id", "", "tshirt", "", "5:10", "CNY", 5.0, "", ""],  # numbers as Excel has them
        ["x-time", "f-oem", "", "Tee", "", "tshirt", "", dt.time(2, 30), "CNY", 2, "", ""],
        ["x-rmb", "f-oem", "", "Tee", "", "tshirt", "", "2:30", "RMB", 2, "", ""],
        ["x-moq", "f-oem", "", "Tee", "", "tshirt", "", "2:30;100:22", "CNY", 500, "", ""],
        ["x-frac", "f-oem", "", "Tee", "", "tshirt", "", "2:30", "CNY", 2.5, "", ""],
    ], more_sheets=1)
    cat = load_catalog(folder)
    x1 = cat.products["x1"]
    assert x1.titles == {"zh": "速干T恤", "en": "Quick-dry tee"} and x1.description == "透气\n速干"
    assert [(t.min_qty, t.price) for t in x1.price_tiers] == [(2, 30.0), (100, 22.0)]
    assert x1.currency == "CNY" and x1.images == ("img/p1.jpg",) and x1.dupe_of == ("bp-align",)
    assert cat.products["1001"].moq == 5
    rejects = _csv_rejects(cat, "products.xlsx")
    assert set(rejects) == {5, 6, 8}
    assert rejects[5][0] == "x-time" and "column 'price_tiers': Excel stored this cell as a date or time" in rejects[5][1]
    assert rejects[6][0] == "x-rmb" and "use CNY" in rejects[6][1]
    assert rejects[8] == ("x-frac", "moq '2.5' is not a whole number")
    assert [(w.file, w.line, w.record_id) for w in cat.warnings] == [("products.xlsx", 7, "x-moq")]
    assert "products.xlsx: read sheet 'Products' (the first of 2 sheets: the others are not read)" in cat.notes


def test_xlsx_rows_keep_the_sheet_numbers_when_the_table_does_not_start_at_a1(tmp_path):
    folder = tiny_catalog(tmp_path / "cat")
    book = openpyxl.Workbook()
    sheet = book.active
    for col, name in enumerate(["", *HEADER.split(",")], start=1):
        sheet.cell(row=3, column=col, value=name or None)                  # the header on row 3, from B
    for col, value in enumerate([None, "s1", "f-oem", "", "Tee", "", "tshirt", "", "2:30", "RMB", 2], start=1):
        sheet.cell(row=6, column=col, value=value)
    for col, value in enumerate(["stray", "s2", "f-oem", "", "Tee", "", "tshirt", "", "2:30", "CNY", 2], start=1):
        sheet.cell(row=9, column=col, value=value)
    book.save(folder / "products.xlsx")
    cat = load_catalog(folder)
    assert _csv_rejects(cat, "products.xlsx") == {
        6: ("s1", "field 'currency': 'RMB' is not an ISO 4217 currency code: use CNY"),
        9: ("s2", "column 1 has a value but no name in the header row")}


def test_a_workbook_that_unpacks_to_more_than_the_cap_is_refused_before_it_is_parsed(tmp_path, monkeypatch):
    from indexer.catalog import tables
    folder = tiny_catalog(tmp_path / "cat")
    _xlsx(folder / "products.xlsx", [HEADER.split(","), ["x1", "f-oem", "", "Tee", "y" * 30000, "tshirt", "",
                                                         "2:30", "CNY", 2]])
    monkeypatch.setattr(tables, "MAX_XLSX_UNPACKED", 20 << 10)        # 20 KiB: the workbook unpacks to more
    cat = load_catalog(folder)
    assert "x1" not in cat.products
    assert any("unpacks to" in r.reason and r.file == "products.xlsx" for r in cat.rejects), cat.rejects


@pytest.mark.parametrize("content, fragment", [
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "Excel 97-2003 (.xls)"),
    (HEADER.encode() + b"\n", "a CSV or another file renamed"),
    (b"PK\x03\x04" + b"\0" * 50, "damaged zip"),
])
def test_a_file_that_is_not_an_xlsx_workbook_is_one_reject_and_keeps_indexed_records(tmp_path, content, fragment):
    folder = tiny_catalog(tmp_path / "cat")
    (folder / "products.xlsx").write_bytes(content)
    cat = load_catalog(folder)
    assert [(r.file, r.line, r.record_id) for r in cat.rejects] == [("products.xlsx", 0, None)]
    assert fragment in cat.rejects[0].reason
    assert cat.unreadable == {"products.xlsx": [0]}
    assert len(cat.products) == 5


def test_a_zip_that_is_not_a_workbook_is_a_reject(tmp_path):
    import zipfile
    folder = tiny_catalog(tmp_path / "cat")
    with zipfile.ZipFile(folder / "products.xlsx", "w") as z:
        z.writestr("hello.txt", "not a workbook")
    cat = load_catalog(folder)
    assert [(r.line, r.record_id) for r in cat.rejects] == [(0, None)]
    assert "cannot be read as an .xlsx workbook" in cat.rejects[0].reason


def test_an_empty_first_sheet_with_data_elsewhere_is_a_reject(tmp_path):
    folder = tiny_catalog(tmp_path / "cat")
    book = openpyxl.Workbook()
    book.active.title = "Cover"
    book.create_sheet("Data").append(HEADER.split(","))
    book.save(folder / "products.xlsx")
    cat = load_catalog(folder)
    assert [r.line for r in cat.rejects] == [0] and "first sheet ('Cover') has no rows" in cat.rejects[0].reason


def test_only_an_xlsx_is_a_catalog_too(tmp_path):
    folder = tmp_path / "only"
    folder.mkdir()
    _xlsx(folder / "products.xlsx", [HEADER.split(",")])
    cat = load_catalog(folder)           # no CatalogError: the workbook is a catalog file
    assert cat.products == {} and cat.rejects == []


# ----------------------------------------------------------------------------- dupe index prints it


def test_dupe_index_prints_encoding_rejects_and_warnings(tmp_path, monkeypatch):
    from indexer.cli import main as dupe
    from indexer.embed import registry
    from tests.fakes import IMAGE_SPEC, TEXT_SPEC, FakeImageEmbedder, FakeTextEmbedder
    monkeypatch.setitem(registry._cache, ("text", TEXT_SPEC), FakeTextEmbedder())
    monkeypatch.setitem(registry._cache, ("image", IMAGE_SPEC), FakeImageEmbedder())
    folder, index = tiny_catalog(tmp_path / "cat"), tmp_path / "index"
    _write_csv(folder, [*ROWS_ZH, "c4,f-oem,,Tee,,tshirt,,2:30;100:22,CNY,500,,", "c5,f-oem,,Tee,,tshirt,,2:30,RMB,2,,"],
               "gbk")
    args = ["index", str(folder), "--index-dir", str(index), "--text-model", TEXT_SPEC, "--image-model", IMAGE_SPEC]
    res = CliRunner().invoke(dupe, args)
    assert res.exit_code == 0, (res.output, res.exception)
    out = res.output
    assert "note: products.csv: read as GB18030 (GBK: a Chinese Excel export), not UTF-8" in out
    assert "rejected: products.csv:6 [c5]: field 'currency': 'RMB' is not an ISO 4217 currency code: use CNY" in out
    assert "warning: products.csv:5 [c4]: moq 500 is above the first price tier (2 pieces)" in out
    assert "rejected 1" in out.splitlines()[-1]
    warnings = [json.loads(x) for x in (index / "warnings.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [(w["file"], w["line"], w["id"]) for w in warnings] == [("products.csv", 5, "c4")]
    # Fixed: the next run has no warnings, and the old file goes.
    _write_csv(folder, ROWS_ZH, "gbk")
    again = CliRunner().invoke(dupe, args)
    assert again.exit_code == 0 and "warning:" not in again.output
    assert not (index / "warnings.jsonl").exists()


# ----------------------------------------------------------------------------- any bytes


_csv_line = st.one_of(
    st.binary(max_size=60),
    st.lists(st.one_of(st.text(max_size=10), st.sampled_from(
        ['"', '""', '"a\nb"', '"open', "2:30;1:40", "RMB", "500", "速干T恤", "x=1;y", "{", "\r"])), max_size=14).map(
        lambda cells: ",".join(cells).encode("utf-8", "surrogatepass")),
    st.sampled_from(["t9,f-oem,速干,Tee,,x,,2:30,CNY,2,,".encode(enc) for enc in ("utf-8", "gbk")]),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(_csv_line, max_size=10))
def test_any_csv_bytes_give_products_rejects_and_warnings_never_an_error(tmp_path_factory, lines):
    folder = tiny_catalog(tmp_path_factory.mktemp("fuzz-csv"))
    good = b"g1,f-oem,,Good tee,,tshirt,,2:30,CNY,2,,"
    data = b"\n".join([HEADER.encode(), good, *lines]) + b"\n"
    (folder / "products.csv").write_bytes(data)
    cat = load_catalog(folder)                                  # never raises
    assert "g1" in cat.products and len(cat.products) >= 6
    n_lines = data.count(b"\n")
    for item in [*cat.rejects, *cat.warnings]:
        assert 3 <= item.line <= n_lines, item                # the header and g1 are good
        json.dumps({"file": item.file, "line": item.line, "id": item.record_id, "reason": item.reason},
                   ensure_ascii=False).encode("utf-8")          # the rejects file can always be written
