"""Error messages in English and Chinese: one table, read by the API (``lang``) and the pages.

A parameter error names its parameter and what is wrong with it by a key of ``PARAM``
(``web.params._bad``); every other error is told by its code (``CODES``). English keeps the
full detail it always had (``ApiError.message``); Chinese says the same from these tables,
with the parameter's name as the page's filter panel calls it.
"""
from __future__ import annotations

from typing import Any

from search.texts import is_zh

#: key -> (English, Chinese) of what is wrong with a parameter's value.
PARAM: dict[str, tuple[str, str]] = {
    "not_string": ("must be a string", "必须是文字"),
    "nul": ("must not contain NUL characters", "不能包含 NUL 字符"),
    "too_long": ("too long ({n} characters, limit {limit})", "太长（{n} 个字符，最多 {limit} 个）"),
    "int_range": ("must be an integer from {lo} to {hi}", "必须是 {lo} 到 {hi} 之间的整数"),
    "int_range_got": ("must be an integer from {lo} to {hi}, got {got}", "必须是 {lo} 到 {hi} 之间的整数，收到的是 {got}"),
    "num_range": ("must be a number from {lo} to {hi}", "必须是 {lo} 到 {hi} 之间的数字"),
    "num_range_got": ("must be a number from {lo} to {hi}, got {got}", "必须是 {lo} 到 {hi} 之间的数字，收到的是 {got}"),
    "bool": ("must be true or false", "必须是 true 或 false"),
    "crop_shape": ("must be x,y,w,h", "必须是 x,y,宽,高"),
    "crop_four": ("must be four integers x,y,w,h (pixels of the photo)", "必须是四个整数 x,y,宽,高（照片上的像素）"),
    "crop_size": ("width and height must be at least 1 pixel", "宽和高至少为 1 像素"),
    "one_of": ("must be one of {values}", "必须是以下之一：{values}"),
    "unknown_label": ("unknown label {value} (use {values})", "没有标签 {value}（可用 {values}）"),
    "lang": ("must be a language code such as en, zh, vi, ko, ru", "必须是语言代码，例如 en、zh、vi、ko、ru"),
    "currency": ("must be a three-letter ISO 4217 code like USD or EUR, got {got}",
                 "必须是三个字母的 ISO 4217 货币代码，例如 USD 或 EUR，收到的是 {got}"),
    "photo_id": ("not a photo id", "不是照片编号"),
    "base64": ("must be a base64 string", "必须是 base64 字符串"),
    "too_many_values": ("at most {n} values", "最多 {n} 个值"),
    "repeated": ("given more than once", "重复给出"),
    "page_or_cursor": ("give either page or cursor, not both", "page 和 cursor 只能给一个"),
    "above_max": ("is above price_max", "高于最高价"),
    "pages_stop": ("pages stop at result {n}", "结果最多翻到第 {n} 条"),
    "crop_or_object": ("give either crop or object, not both", "crop 和 object 只能给一个"),
    "q_or_page": ("give q or page_url, not both (the page's product name is the query)",
                  "文字和商品页链接只能给一个（商品页上的商品名就是搜索词）"),
    "unknown_value": ("no {what} {value} in this catalog; one of: {values}", "目录里没有{what_zh} {value}；可选：{values_zh}"),
}

#: key -> (English, Chinese) of other errors whose Chinese says more than their code's.
OTHER: dict[str, tuple[str, str]] = {
    "no_product": ("no product with id {id}", "没有编号为 {id} 的商品"),
    "no_brand_product": ("no brand product with id {id}", "没有编号为 {id} 的品牌商品"),
    "no_bp_to_compare": ("no brand product to compare this product with", "没有可与这个商品比较的品牌商品"),
}

#: What an error with this code means, in Chinese (its English message has the details).
CODES: dict[str, str] = {
    "not_found": "找不到这个页面或商品。",
    "rate_limited": "请求太频繁，请稍后再试。",
    "too_many_photos": "一次只能搜索一张照片。",
    "unauthorized": "需要有效的 API 密钥。",
    "forbidden": "这个 API 密钥没有权限。",
    "invalid_json": "请求内容不是有效的 JSON。",
    "starting": "服务正在启动（加载索引和模型），请稍后再试。",
    "no_product_on_page": "这个页面上没有找到商品信息。",
    "unsupported_media_type": "不支持这种内容类型。",
    "payload_too_large": "请求内容太大。",
    "image_too_large": "照片太大，请换一张小一点的照片。",
    "too_many_pixels": "照片像素太多，请换一张小一点的照片。",
    "unsupported_image": "不支持这种图片格式（可用 JPEG、PNG、GIF、WebP、BMP、TIFF、AVIF）。",
    "corrupt_image": "照片已损坏或不完整，无法打开。",
    "empty_photo": "照片文件是空的。",
    "image_url_refused": "不能从这个地址获取照片。",
    "image_fetch_failed": "无法从这个链接获取照片。",
    "page_url_refused": "不能读取这个地址的页面。",
    "page_fetch_failed": "无法打开这个商品页。",
    "unsupported_page": "这个链接不是网页。",
    "page_too_large": "这个商品页太大。",
    "batch_too_large": "批量搜索的条数太多。",
    "batch_over_rate_limit": "批量搜索超出了频率限制。",
    "cursor_expired": "索引已更新，请重新开始这次搜索。",
    "cursor_mismatch": "这个翻页标记属于另一次搜索。",
    "invalid_cursor": "翻页标记无效。",
    "reindex_running": "已经在重建索引。",
    "photo_not_found": "这张照片已过期或不存在，请重新上传。",
    "not_comparable": "这个商品不能与该品牌商品比较。",
    "unknown_currency": "没有这种货币的汇率。",
    "unknown_brand": "目录里没有这个品牌。",
    "unknown_brand_product": "目录里没有这个品牌商品。",
    "missing_query": "请输入文字或上传照片。",
    "bad_query": "搜索条件有误（例如裁剪框超出了照片）。",
    "unknown_parameter": "有不认识的参数。",
    "index_unavailable": "搜索索引暂时不可用。",
    "busy": "服务繁忙，请稍后再试。",
    "internal_error": "内部错误，服务已记录。",
    "not_utf8": "文件必须是 UTF-8 编码。",
    "too_many_values": "请求里的值太多。",
    "bad_base64": "照片的 base64 编码无效。",
    "method_not_allowed": "不支持这种请求方法。",
    "bad_request": "请求有误。",
    "unprocessable": "无法处理这个请求。",
    "conflict": "请求冲突。",
    "unavailable": "服务暂时不可用。",
}

#: Parameters by the names the page gives them (the rest keep their own name).
PARAM_ZH: dict[str, str] = {
    "q": "搜索词", "category": "类目", "region": "产地", "certification": "认证", "price_min": "最低价",
    "price_max": "最高价", "moq_max": "最大起订量", "label": "标签", "ship_within": "发货时效", "page": "页码",
    "lang": "语言", "currency": "货币", "crop": "裁剪框", "object": "商品编号", "page_url": "商品页链接",
}


def param_message(key: str, lang: str, field: str, args: dict[str, Any]) -> str:
    """A parameter error's message: "price_min: is above price_max" / "最低价：高于最高价"."""
    en, zh = PARAM[key]
    if is_zh(lang):
        return f"{PARAM_ZH.get(field, field)}：{zh.format(**args)}"
    return f"{field}: {en.format(**args)}"


def other(key: str, **args: Any) -> dict[str, Any]:
    """The English message and the localisation of an ``OTHER`` error, as ``ApiError`` takes them."""
    return {"message": OTHER[key][0].format(**args), "key": key, "args": args}


def localised(code: str, message: str, lang: str, key: str | None = None, field: str | None = None,
              args: dict[str, Any] | None = None) -> str:
    """An error's message in ``lang`` (Chinese or English; English for other languages)."""
    if key in OTHER:
        en, zh = OTHER[key]
        return (zh if is_zh(lang) else en).format(**(args or {}))
    if key is not None and field is not None:
        return param_message(key, lang, field, args or {})
    if is_zh(lang) and code in CODES:
        return CODES[code]
    return message
