"""Product codes (search.codes): recognised in queries and listings, every spelling of one
code normalised to one token, and what is not a code (sizes, years, counts, specs)."""
from __future__ import annotations

import pytest

from search.codes import brand_of, codes, is_code, match, record_codes, same_code, with_codes


@pytest.mark.parametrize("text, expected", [
    ("Philips HX9911 电动牙刷", ("hx9911",)),
    ("Sony WF-1000XM5 earbuds", ("wf1000xm5",)),
    ("A3500 tripod", ("a3500",)),
    ("KN95 口罩", ("kn95",)),
    ("Canon DSC-W120 camera", ("dscw120",)),
    ("Sony DSCW120/B", ("dscw120",)),                          # "/B": a colour after a slash
    ("Epson C13S051160", ("c13s051160",)),
])
def test_codes_are_found_in_text(text, expected):
    assert codes(text) == expected


@pytest.mark.parametrize("spelling", [
    "WF-1000XM5", "wf-1000xm5", "WF1000XM5", "wf 1000xm5", "WF 1000XM5", "ＷＦ－１０００ＸＭ５", "ｗｆ１０００ｘｍ５",
    "Sony WF-1000XM5 降噪耳机", "索尼WF-1000XM5",
])
def test_every_spelling_of_a_code_is_one_token(spelling):
    assert codes(spelling) == ("wf1000xm5",)


@pytest.mark.parametrize("text", [
    "500ml", "2.5L", "3pcs", "x2", "2x", "10x20cm", "128GB", "1080p", "24K", "2nd", "16CH", "2000mAh",
    "2024", "2024年新款", "3件套", "水杯500ml", "mp3", "usb3", "i7", "ps4", "for 2000", "size m 2024", "pro 12",
    "yoga leggings", "", None,
])
def test_sizes_years_counts_and_specs_are_not_codes(text):
    assert codes(text) == ()


def test_a_prefix_spaced_from_its_number_is_one_code_not_two():
    assert codes("hx 9911") == ("hx9911",)
    assert codes("Sony WF 1000XM5 vs WH-1000XM4") == ("wf1000xm5", "wh1000xm4")   # not "1000xm5" alone


def test_a_trailing_colour_after_a_hyphen_also_gives_the_bare_code():
    assert codes("ABC-123-BLK") == ("abc123blk", "abc123")


def test_is_code_needs_letters_and_two_digits_and_no_unit():
    assert is_code("kn95") and is_code("a3500") and is_code("wf1000xm5")
    assert not is_code("2024") and not is_code("abc") and not is_code("a1") and not is_code("500ml")
    assert not is_code("wf-1000xm5")                            # takes the joined form only


def test_same_code_accepts_a_colour_suffix_not_another_model():
    assert same_code("wh1000xm3b", "wh1000xm3") and same_code("nnh965bk", "nnh965")
    assert not same_code("wf1000xm4", "wf1000xm5") and not same_code("hx9911", "hx6730")
    assert not same_code("a75", "a75s")                         # too short to tell a variant from a model


def test_match_states():
    assert match(("hx9911",), {"hx9911", "x200"}) == 1
    assert match(("hx9911",), {"hx6730"}) == -1
    assert match(("hx9911",), set()) == 0 and match((), {"hx6730"}) == 0


def test_record_codes_read_titles_and_attribute_values():
    got = record_codes({"en": "Toothbrush HX9911", "zh": "牙刷"}, {"model": "HX-9912", "weight": 3})
    assert got == {"hx9911", "hx9912"}


def test_query_tokens_gain_the_joined_code_only_when_missing():
    assert with_codes(["wf", "1000xm5"], "wf 1000xm5") == ["wf", "1000xm5", "wf1000xm5"]
    assert with_codes(["hx9911"], "HX9911") == ["hx9911"]
    assert with_codes(["yoga"], "yoga 2024") == ["yoga"]


def test_brand_of_reads_the_maker_attributes_in_one_spelling():
    assert brand_of({"manufacturer": "LINKSYS"}) == brand_of({"brand": "Linksys"}) == "linksys"
    assert brand_of({"品牌": "飞利浦"}) == "飞利浦"
    assert brand_of({"colour": "red"}) is None and brand_of({"brand": " "}) is None


@pytest.mark.parametrize("text", [
    "纯棉T恤 100", "Tritan jar, 304 steel", "ABS+PC 40小时", "Slim fit 100% cotton", "12 h, 304 stainless",
    "oil 12 pcs", "5 h + 25 h case",
])
def test_a_word_and_a_number_that_are_not_one_code(text):
    """A prefix joins its number only when spaces alone part them, neither touches Chinese
    or a sign, and the number is not a count of something ("12 pcs")."""
    assert not any(c.startswith(("t1", "jar", "pc4", "fit", "h30", "h25", "oil")) for c in codes(text)), codes(text)
