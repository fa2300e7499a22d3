"""ISO 4217 currency codes a catalog price may be in (a fixed list: no network at index time).

Only currencies in circulation: fund codes (BOV, CLF, USN...), precious metals (XAU...)
and test codes (XTS, XXX) are not prices of goods. ``REPLACED`` maps what merchants
write instead of a code (the currency's name, an offshore or withdrawn code) to the
code to use, so the reject can say it.
"""
from __future__ import annotations

CODES: frozenset[str] = frozenset("""
AED AFN ALL AMD AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP
BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP
GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES
KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU
MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON
RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND
TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VED VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR
ZMW ZWG
""".split())

#: Not an ISO 4217 code of a currency in circulation -> the code to use.
REPLACED: dict[str, str] = {
    "RMB": "CNY", "YUAN": "CNY", "元": "CNY", "人民币": "CNY",   # the yuan's name, not its code
    "CNH": "CNY",           # offshore yuan: a market quote, not an ISO 4217 code
    "NTD": "TWD", "NT$": "TWD",
    "HRK": "EUR",           # Croatia, 2023
    "ANG": "XCG",           # Curacao and Sint Maarten, 2025
    "CUC": "CUP", "BYR": "BYN", "MRO": "MRU", "STD": "STN", "VEF": "VES", "ZMK": "ZMW",
    "SLL": "SLE", "ZWL": "ZWG", "RUR": "RUB", "LTL": "EUR", "LVL": "EUR", "EEK": "EUR",
}


def currency_problem(value: str) -> str | None:
    """Why ``value`` (already upper-cased) is not a currency code a price may be in, or None."""
    if value in CODES:
        return None
    if value in REPLACED:
        return f"{value!r} is not an ISO 4217 currency code: use {REPLACED[value]}"
    return f"{value!r} is not an ISO 4217 currency code (like CNY, USD or EUR)"
