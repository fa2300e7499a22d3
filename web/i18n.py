"""UI strings of the search page in Chinese and English, and the UI language of a request.

``?lang=zh|en`` (or the form's ``lang``) chooses, and a cookie keeps the choice for the next
pages; without either the browser's Accept-Language decides; English is the fallback. Keys
missing in one language fall back to English.
"""
from __future__ import annotations

from typing import Any

from flask import has_request_context, request

UI_LANGS = ("zh", "en")

STRINGS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Dupe finder",
        "tagline": "Factory-made alternatives to brand products, with the evidence behind every label",
        "query_placeholder": "Brand product or a link to its page, e.g. lululemon Align leggings",
        "search": "Search",
        "photo": "Photo",
        "photo_hint": "Drop, paste or take a photo of the brand product",
        "choose_photo": "Choose a photo",
        "take_photo": "Camera",
        "your_photo": "Your photo",
        "crop": "Search part of the photo",
        "crop_hint": "Drag a rectangle on the photo, or type x,y,w,h in pixels",
        "crop_open": "Tap to crop or change",
        "crop_apply": "Search this area",
        "crop_clear": "Whole photo",
        "objects": "Products in the photo",
        "object_n": "Product {n}",
        "object_searched": "searched",
        "remove_photo": "Search by text only",
        "filters": "Filters",
        "category": "Category",
        "price_min": "Min price",
        "price_max": "Max price",
        "moq_max": "Max MOQ",
        "label": "Label",
        "region": "Region",
        "certification": "Certification",
        "region_hint": "Province, city or belt, e.g. Zhejiang or Yiwu",
        "narrow": "Narrow the results",
        "remove_filter": "Remove this filter",
        "ship_within": "Ships within",
        "any": "Any",
        "hours": "{n} h",
        "group_on": "One result per factory",
        "group_off": "Every listing",
        "understood": "We understood",
        "brand": "Brand",
        "brand_product": "Brand product",
        "ocr_text": "Text read on the photo",
        "product_page": "Product page",
        "page_image_failed": "Its image could not be used: searched by its words only",
        "none_detected": "none detected",
        "correct": "Not right? Choose the brand",
        "looks_like": "Looks like",
        "how_alias": "named in your words",
        "how_fuzzy": "close spelling",
        "how_text": "from your words",
        "how_ocr": "read on the photo",
        "how_image": "from the photo",
        "how_user": "your choice",
        "how_sound": "the name as it sounds",
        "how_words": "its product line in your words",
        "how_kind": "the kind of product in your words",
        "how_only": "the brand's only product of this kind",
        "did_you_mean": "Or did you mean",
        "categories": "Kind of product",
        "unknown_brand": "No dupes of {brand} in this catalog yet.",
        "unknown_brand_more": ("We do not carry this brand, so nothing below is labelled or compared with its "
                               "prices; these are only similar products."),
        "brand_only": "Dupes of {brand}'s products in {cats}",
        "not_comparable": "Not compared with the brand product",
        "choose_brand": "Choose a brand",
        "clear": "Clear",
        "apply": "Apply",
        "results": "{n} results",
        "no_results": "No dupes found. Try fewer words, another photo or fewer filters.",
        "same_foundry": "Same foundry",
        "equal_quality": "Equal quality",
        "similar": "Similar (not endorsed)",
        "evidence": "Evidence",
        "verified_by": "Verified by",
        "verified_at": "Verified on",
        "expires_at": "Valid until",
        "no_evidence": "Not endorsed: no verified evidence that this factory makes or matches the brand product.",
        "factory": "Factory",
        "replaces": "Alternative to",
        "brand_price": "Brand price",
        "tiers": "Price tiers",
        "tier_row": "from {qty} pcs",
        "moq": "MOQ",
        "pcs": "{n} pcs",
        "ships": "Ships within {n} h",
        "reply": "Replies in {n} min",
        "returns": "Returns",
        "more_listings": "{n} more listings from this factory",
        "share_card": "Share card",
        "copy_link": "Copy link",
        "copied": "Link copied",
        "counterfeit": "Uses brand trademarks: counterfeit risk",
        "prev": "Previous",
        "next": "Next",
        "page_of": "Page {page}",
        "error": "Something went wrong",
        "back": "Back to search",
        "index_unavailable": "The search index is not available right now.",
        "lang_switch": "中文",
        "photo_search": "Photo search",
        "share_this": "Share this search",
        # the product page (web.listing_page)
        "next_step": "Next step",
        "request_sample": "Request a sample / quote",
        "sample_subject": "Sample / quote request: {title} ({id})",
        "sample_body": "Hello,\n\nI would like a sample and a quote for {title} ({id}): {url}\n\nQuantity:\nShip to:\n",
        "view_listing": "The listing in the factory's shop",
        "factory_store": "The factory's shop",
        "no_contact": "The catalog has no contact for this factory yet.",
        "email": "Email",
        "labelled": "{label}: {value}",
        "quantity": "Quantity",
        "unit_price": "Price per piece",
        "vs_brand_price": "Against the brand price",
        "saving_against": "Brand price of {title}: {price}",
        "compared_with": "Compared with {title}",
        "this_listing": "This listing",
        "no_expiry": "no end date",
        "attributes": "Details",
        "certifications": "Certifications",
        "other_listings": "More from this factory",
        "page_link": "Link to this page",
        "fx_rate": "1 {src} = {rate} {dst}",
        "fx_rate_of": "{rate}, rates of {date}",
        "fx_note": "≈ {amount} ({rate})",
    },
    "zh": {
        "title": "平替搜索",
        "tagline": "品牌同款的工厂平替，每个标签都有可查的认证依据",
        "query_placeholder": "品牌商品或其商品页链接，例如 露露乐蒙 Align 瑜伽裤",
        "search": "搜索",
        "photo": "图片",
        "photo_hint": "拖入、粘贴或拍摄品牌商品的照片",
        "choose_photo": "选择照片",
        "take_photo": "拍照",
        "your_photo": "你的照片",
        "crop": "只搜索照片的一部分",
        "crop_hint": "在照片上拖出一个框，或输入 x,y,宽,高（像素）",
        "crop_open": "点按裁剪或更换",
        "crop_apply": "搜索选中区域",
        "crop_clear": "整张照片",
        "objects": "照片中的商品",
        "object_n": "商品 {n}",
        "object_searched": "正在搜索",
        "remove_photo": "只按文字搜索",
        "filters": "筛选",
        "category": "类目",
        "price_min": "最低价",
        "price_max": "最高价",
        "moq_max": "最大起订量",
        "label": "标签",
        "region": "产地",
        "certification": "认证",
        "region_hint": "省、市或产业带，例如 浙江 或 义乌",
        "narrow": "缩小结果范围",
        "remove_filter": "去掉这个筛选条件",
        "ship_within": "发货时效",
        "any": "不限",
        "hours": "{n} 小时",
        "group_on": "每个工厂一条",
        "group_off": "全部商品",
        "understood": "识别结果",
        "brand": "品牌",
        "brand_product": "品牌商品",
        "ocr_text": "照片上的文字",
        "product_page": "商品页面",
        "page_image_failed": "无法使用该页面的图片：仅按文字搜索",
        "none_detected": "未识别到",
        "correct": "不对？选择品牌",
        "looks_like": "看起来像",
        "how_alias": "来自你的文字",
        "how_fuzzy": "相近拼写",
        "how_text": "来自你的文字",
        "how_ocr": "照片上的文字",
        "how_image": "来自照片",
        "how_user": "你的选择",
        "how_sound": "按读音识别",
        "how_words": "你提到的产品线",
        "how_kind": "你提到的品类",
        "how_only": "该品牌唯一的同类产品",
        "did_you_mean": "你是不是想找",
        "categories": "品类",
        "unknown_brand": "目录里还没有 {brand} 的平替。",
        "unknown_brand_more": "我们暂未收录这个品牌，下面的结果只是相似商品，不带认证标签，也不与该品牌比价。",
        "brand_only": "{brand} 在 {cats} 品类的平替",
        "not_comparable": "未与品牌商品比较",
        "choose_brand": "选择品牌",
        "clear": "清除",
        "apply": "应用",
        "results": "{n} 个结果",
        "no_results": "没有找到平替。试试更少的关键词、换一张照片或减少筛选条件。",
        "same_foundry": "同厂",
        "equal_quality": "同品质",
        "similar": "相似款（未认证）",
        "evidence": "认证依据",
        "verified_by": "认证方",
        "verified_at": "认证日期",
        "expires_at": "有效期至",
        "no_evidence": "未认证：没有经过核实的证据表明该工厂生产或达到该品牌商品的品质。",
        "factory": "工厂",
        "replaces": "平替",
        "brand_price": "品牌价",
        "tiers": "阶梯价",
        "tier_row": "{qty} 件起",
        "moq": "起订量",
        "pcs": "{n} 件",
        "ships": "{n} 小时内发货",
        "reply": "{n} 分钟内回复",
        "returns": "退换",
        "more_listings": "该工厂还有 {n} 个商品",
        "share_card": "分享卡片",
        "copy_link": "复制链接",
        "copied": "链接已复制",
        "counterfeit": "使用了品牌商标：有假冒风险",
        "prev": "上一页",
        "next": "下一页",
        "page_of": "第 {page} 页",
        "error": "出错了",
        "back": "返回搜索",
        "index_unavailable": "搜索索引暂时不可用。",
        "lang_switch": "English",
        "photo_search": "以图搜索",
        "share_this": "分享这个搜索",
        # 商品页（web.listing_page）
        "next_step": "下一步",
        "request_sample": "索取样品 / 询价",
        "sample_subject": "样品 / 询价：{title}（{id}）",
        "sample_body": "您好，\n\n我想索取 {title}（{id}）的样品并询价：{url}\n\n数量：\n收货地：\n",
        "view_listing": "在工厂店铺查看该商品",
        "factory_store": "工厂店铺",
        "no_contact": "目录中暂无该工厂的联系方式。",
        "email": "邮箱",
        "labelled": "{label}：{value}",
        "quantity": "数量",
        "unit_price": "单价",
        "vs_brand_price": "与品牌价相比",
        "saving_against": "{title} 的品牌价：{price}",
        "compared_with": "对比 {title}",
        "this_listing": "本商品",
        "no_expiry": "无截止日期",
        "attributes": "商品参数",
        "certifications": "资质认证",
        "other_listings": "该工厂的其他商品",
        "page_link": "本页链接",
        "fx_rate": "1 {src} = {rate} {dst}",
        "fx_rate_of": "{rate}，{date} 汇率",
        "fx_note": "≈ {amount}（{rate}）",
    },
}


def t(key: str, lang: str, **kw: object) -> str:
    s = STRINGS.get(lang, STRINGS["en"]).get(key) or STRINGS["en"].get(key) or key
    return s.format(**kw) if kw else s


LANG_COOKIE = "lang"


def asked_lang() -> str | None:
    """The UI language the request chooses itself (``lang`` in its query or form), if any."""
    if not has_request_context():
        return None
    asked = request.args.get("lang") or ""
    if not asked and request.method == "POST" and request.mimetype in (
            "multipart/form-data", "application/x-www-form-urlencoded"):
        try:
            asked = request.form.get("lang") or ""
        except Exception:  # a body too large to parse: the error page falls back below
            asked = ""
    asked = asked.strip().lower()
    if asked in UI_LANGS:
        return asked
    return "zh" if asked.startswith("zh") else None


def ui_lang() -> str:
    """zh or en: the request's own ``lang``, else the one chosen before (the ``lang``
    cookie ``remember_lang`` sets), else the browser's preference, else English."""
    if not has_request_context():
        return "en"
    asked = asked_lang()
    if asked:
        return asked
    kept = request.cookies.get(LANG_COOKIE, "")
    if kept in UI_LANGS:
        return kept
    best = request.accept_languages.best_match(["zh", "zh-CN", "zh-TW", "en"], default="en")
    return "zh" if best.startswith("zh") else "en"


def remember_lang(response: Any) -> Any:
    """A page's answer keeps the language the request chose (a year): searches, uploads,
    redirects and share links stay in it, whatever the browser prefers."""
    asked = asked_lang()
    if asked and request.cookies.get(LANG_COOKIE) != asked:
        response.set_cookie(LANG_COOKIE, asked, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
    return response
