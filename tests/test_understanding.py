"""Query understanding (pure): a query -> the brand product it means, else brand +
categories, else nothing; names across scripts; brands we do not carry."""
from __future__ import annotations

import pytest

from search import models
from search.analysis import Analyzer, alias_map
from search.brands import NameMatcher, phonetic_key, sound_similarity
from search.understanding import Understander, intent_subject

BRANDS = {b["id"]: models.brand(b) for b in [
    {"id": "lululemon", "names": {"en": "lululemon", "zh": "露露乐蒙"}, "aliases": ["lulu"],
     "trademarks": ["lululemon", "Align"], "categories": ["leggings"]},
    {"id": "stanley", "names": {"en": "Stanley", "zh": "史丹利"}, "aliases": ["stanley cup"],
     "trademarks": ["Stanley", "Quencher", "IceFlow"], "categories": ["tumbler"]},
    {"id": "estee", "names": {"en": "Estée Lauder", "zh": "雅诗兰黛"}, "aliases": ["estee lauder"],
     "trademarks": ["Estée Lauder"], "categories": ["skincare", "lipstick"]},
    {"id": "canada-goose", "names": {"en": "Canada Goose", "zh": "加拿大鹅"}, "trademarks": ["Canada Goose"],
     "categories": ["jacket"]},
]}
PRODUCTS = {p["id"]: models.brand_product(p) for p in [
    {"id": "align", "brand": "lululemon", "category": "leggings", "price": 850, "currency": "CNY",
     "titles": {"en": "lululemon Align High-Rise Pant", "zh": "露露乐蒙 Align 高腰瑜伽裤"}, "aliases": ["lulu align"]},
    {"id": "flare", "brand": "lululemon", "category": "leggings", "price": 950, "currency": "CNY",
     "titles": {"en": "lululemon Align High-Rise Mini-Flare Pant", "zh": "露露乐蒙 Align 高腰微喇瑜伽裤"}},
    {"id": "wunder", "brand": "lululemon", "category": "leggings", "price": 750, "currency": "CNY",
     "titles": {"en": "lululemon Wunder Train High-Rise Tight leggings", "zh": "露露乐蒙 Wunder Train 训练紧身裤"}},
    {"id": "quencher", "brand": "stanley", "category": "tumbler", "price": 45, "currency": "USD",
     "titles": {"en": "Stanley Quencher Tumbler 40 oz", "zh": "史丹利 Quencher 吸管保温杯"},
     "aliases": ["stanley cup", "冰霸杯"]},
    {"id": "iceflow", "brand": "stanley", "category": "tumbler", "price": 299, "currency": "CNY",
     "titles": {"en": "Stanley IceFlow Flip Straw Tumbler", "zh": "史丹利 IceFlow 翻盖吸管杯"}},
    {"id": "anr", "brand": "estee", "category": "skincare", "price": 960, "currency": "CNY",
     "titles": {"en": "Estée Lauder Advanced Night Repair serum", "zh": "雅诗兰黛 特润修护精华 小棕瓶"},
     "aliases": ["小棕瓶"]},
    {"id": "pure-color", "brand": "estee", "category": "lipstick", "price": 320, "currency": "CNY",
     "titles": {"en": "Estée Lauder Pure Color Lipstick", "zh": "雅诗兰黛 花漾倾慕口红"}},
    {"id": "expedition", "brand": "canada-goose", "category": "jacket", "price": 11900, "currency": "CNY",
     "titles": {"en": "Canada Goose Expedition Parka", "zh": "加拿大鹅 Expedition 派克大衣"}},
]}
# Words factory listings use a lot (they never carry brand or product-line words).
LISTING_WORDS = {"leggings", "high", "rise", "highrise", "tumbler", "瑜伽", "裤", "高腰", "口红", "lipstick", "serum",
                 "pant", "tight", "吸管", "保温", "保温杯", "parka", "straw", "flip", "40", "oz", "40oz", "精华"}


@pytest.fixture(scope="module")
def u() -> Understander:
    analyzer = Analyzer(alias_map({"id": b.id, "names": b.names, "aliases": b.aliases, "trademarks": b.trademarks}
                                  for b in BRANDS.values()))
    return Understander(BRANDS, PRODUCTS, analyzer, lambda t: 50 if t in LISTING_WORDS else 0, 5000)


def known_word(w: str) -> bool:
    return w in LISTING_WORDS


@pytest.mark.parametrize("q, product, how", [
    ("stanley cup dupe", "quencher", "alias"),
    ("冰霸杯 平替", "quencher", "alias"),
    ("小棕瓶 平替", "anr", "alias"),
    ("露露乐蒙 align", "align", "words"),          # Align, not Align Mini-Flare: the query names it completely
    ("lululemon align flare dupe", "flare", "words"),
    ("quencher", "quencher", "words"),              # a bare product line names its brand too
    ("雅诗兰黛 口红 平替", "pure-color", "kind"),    # brand + kind of product -> that product of the brand
    ("stanley iceflow", "iceflow", "words"),
])
def test_a_query_resolves_to_the_brand_product_it_names(u, q, product, how):
    r = u.understand(q, known_word=known_word)
    assert (r.product.id, r.product.how) == (product, how)
    assert r.brand.brand == PRODUCTS[product].brand and r.categories == (PRODUCTS[product].category,)
    assert r.unknown_brand is None


def test_two_candidates_are_both_offered_and_the_best_used(u):
    r = u.understand("露露乐蒙 瑜伽裤")
    assert r.product.id in ("align", "flare") and [a.id for a in r.alternatives] == ["flare" if r.product.id == "align"
                                                                                     else "align"]


def test_a_brand_alone_is_the_brand_and_its_categories(u):
    r = u.understand("lululemon dupe", dense=[("align", 0.55), ("flare", 0.50), ("wunder", 0.45)])
    assert r.product is None and r.brand.brand == "lululemon" and r.categories == ("leggings",)
    r = u.understand("雅诗兰黛 平替")
    assert r.product is None and set(r.categories) == {"skincare", "lipstick"}


def test_a_brands_only_product_of_the_kind_asked_for_is_the_target(u):
    r = u.understand("canada goose dupe")
    assert (r.product.id, r.product.how) == ("expedition", "only")


def test_generic_words_do_not_name_a_brand(u):
    for q in ("high rise leggings", "straw tumbler 40oz", "瑜伽裤 高腰"):
        r = u.understand(q, dense=[("align", 0.62)], known_word=known_word)
        assert r.brand is None and r.product is None and r.unknown_brand is None, q


def test_text_similarity_names_a_product_only_when_close(u):
    assert u.understand("термокружка с трубочкой", dense=[("quencher", 0.74)]).product.id == "quencher"
    assert u.understand("термокружка с трубочкой", dense=[("quencher", 0.6)]).product is None


def test_names_in_other_scripts_are_heard(u):
    r = u.understand("룰루레몬 레깅스", dense=[("align", 0.5), ("wunder", 0.42)])
    assert r.brand.brand == "lululemon" and r.brand.how == "sound"
    r = u.understand("スタンレー タンブラー", dense=[("quencher", 0.45)])
    assert r.brand.brand == "stanley"


def test_a_brand_heard_by_sound_must_fit_the_kind_of_product(u):
    # "레깅스" (leggings) sounds a little like "Canada Goose", but it is about leggings
    r = u.understand("레깅스", dense=[("align", 0.5), ("wunder", 0.48)])
    assert r.brand is None or r.brand.brand != "canada-goose"


def test_the_photo_and_the_text_on_it(u):
    r = u.understand(None, image=[("iceflow", 0.81), ("quencher", 0.7)])
    assert (r.product.id, r.product.how) == ("iceflow", "image")
    r = u.understand(None, ocr_text="STANLEY QUENCHER", image=[("iceflow", 0.5)])
    assert (r.product.id, r.product.how) == ("quencher", "ocr")
    # the user's words win over the photo
    r = u.understand("lululemon align", image=[("quencher", 0.9)])
    assert r.product.id == "align"
    # a brand read on a cluttered photo: the photo chooses among that brand's products
    r = u.understand(None, ocr_text="STANLEY", image=[("align", 0.42), ("iceflow", 0.4), ("quencher", 0.33)])
    assert (r.brand.brand, r.product.id, r.product.how) == ("stanley", "iceflow", "image")
    assert [a.id for a in r.alternatives] == ["quencher"]


def test_the_users_correction_wins(u):
    r = u.understand("stanley cup", user_product="iceflow")
    assert (r.product.id, r.product.how) == ("iceflow", "user")
    r = u.understand("stanley cup", user_brand="lululemon")
    assert r.brand.brand == "lululemon" and (r.product is None or r.product.brand == "lululemon")


@pytest.mark.parametrize("q, unknown", [
    ("nike air force 1 dupe", "Nike"), ("名创优品 香薰", "名创优品"), ("zara 平替", "Zara"),
    ("skims dupe", "Skims"), ("blorbo sneakers dupe", "blorbo sneakers"),
])
def test_brands_we_do_not_carry_are_said_plainly(u, q, unknown):
    r = u.understand(q, known_word=known_word)
    assert r.brand is None and r.product is None and r.unknown_brand == unknown


def test_a_dupe_query_about_known_words_is_not_an_unknown_brand(u):
    assert u.understand("leggings dupe", known_word=known_word).unknown_brand is None
    assert u.understand("lululemon dupe", known_word=known_word).unknown_brand is None


def test_a_brand_the_listings_name_is_not_unknown(u):
    # a general product catalog (listings with brand names): "Samsung" is in it
    assert u.understand("samsung 55 inch tv", known_word=lambda w: True).unknown_brand is None
    assert u.understand("samsung 55 inch tv", known_word=known_word).unknown_brand == "Samsung"
    # ...in any of its names: 小米 asked, "xiaomi" in the listings
    assert u.understand("小米手机 平替", known_word=lambda w: w == "xiaomi").unknown_brand is None
    # a catalog without brand products says nothing about brands
    bare = Understander({}, {}, u.analyzer)
    assert bare.understand("nike dupe", known_word=known_word).unknown_brand is None


@pytest.mark.parametrize("q, subject", [
    ("nike air force 1 dupe", "nike air force 1"),
    ("dupe for charlotte tilbury pillow talk", "charlotte tilbury pillow talk"),
    ("zara 平替 推荐", "zara"), ("аналог скимс", "скимс"), ("alternativa a stanley quencher", "stanley quencher"),
    ("lululemon", None),
])
def test_intent_subject(q, subject):
    assert intent_subject(q) == subject


def test_sound_keys_match_across_scripts():
    for a, b in [("룰루레몬", "lululemon"), ("ルルレモン", "lululemon"), ("лулулемон", "lululemon"),
                 ("スタンレー", "stanley"), ("캐나다구스", "canada goose"), ("アークテリクス", "arcteryx")]:
        assert sound_similarity(phonetic_key(a), phonetic_key(b)) >= 0.8, (a, b)
    for a, b in [("텀블러", "lululemon"), ("크림", "stanley"), ("помада", "dyson")]:
        assert sound_similarity(phonetic_key(a), phonetic_key(b)) < 0.8, (a, b)


def test_name_matcher_whole_words_fuzzy_and_chinese():
    m = NameMatcher({"mac": ["MAC", "魅可"], "lulu": ["lululemon", "lulu lemon"]})
    assert m.find("macbook case") == [] and m.find("mac lipstick")[0].brand == "mac"
    assert m.find("魅可口红")[0].brand == "mac"
    assert m.find("LuluLemon")[0].brand == "lulu" and m.find("lulu lemon")[0].how == "alias"
    fuzzy = m.find("lululemom leggings")
    assert fuzzy[0].brand == "lulu" and fuzzy[0].how == "fuzzy" and fuzzy[0].confidence < 1


def test_the_first_words_of_a_longer_name_are_not_a_misspelling_of_it():
    # "Oral-B" read on a Pro 4 package is not a misspelt "Oral-B iO" (a product's nickname)
    m = NameMatcher({"io9": ["oral-b io", "io9"], "lulu": ["lululemon"]})
    assert m.find("Oral-B 3DCLEAN") == [] and m.find("ORALB PRO 3") == [] and m.find("oralb pro brush") == []
    assert m.find("Oral-B iO brush head")[0].brand == "io9"
    assert m.find("lululemo leggings")[0].brand == "lulu"


def test_generic_words_of_one_kind_keep_the_search_in_its_category(u):
    r = u.understand("吸管 保温杯", known_word=known_word)
    assert r.brand is None and r.product is None and r.categories == ("tumbler",)
    assert u.understand("straw leggings", known_word=known_word).categories == ()     # two kinds: no category


def test_a_second_brand_on_the_photo_is_offered(u):
    r = u.understand(None, ocr_text="lululemon STANLEY 40OZ",
                     image=[("align", 0.5), ("quencher", 0.45), ("flare", 0.4)])
    assert r.brand.brand == "lululemon" and r.product.id == "align"
    assert "quencher" in [a.id for a in r.alternatives]


def test_a_photo_is_matched_against_every_image_of_a_brand_product():
    import numpy as np

    from search.view import CatalogView

    def unit(*xs):
        v = np.asarray(xs, dtype=np.float32)
        return v / np.linalg.norm(v)
    front, back, other = unit(1, 0, 0), unit(0, 1, 0), unit(0.6, 0.8, 0.3)
    view = CatalogView(1, None, None, {}, {}, None,
                       vectors={"bp-a": {"image": front, "text": front}, "bp-b": {"image": other}},
                       image_vectors={"bp-a": (front, back), "bp-b": (other,)})
    # A photo of bp-a's back: its second image, not its main one, makes it the nearest.
    assert view.nearest_brand_products("image", back) == [("bp-a", pytest.approx(1.0)),
                                                           ("bp-b", pytest.approx(float(other @ back)))]
    assert view.nearest_brand_products("image", front, k=1) == [("bp-a", pytest.approx(1.0))]
    assert [i for i, _ in view.nearest_brand_products("text", back)] == ["bp-a"]   # one text vector each
