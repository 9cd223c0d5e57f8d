"""Read what a server-rendered page shows: its HTML, and amounts and dates written for people.

HTML: :func:`html_of` turns page source, bytes or an ``httpx`` answer into a :class:`parsel.Selector`
(CSS and XPath, Scrapy's selector library, already a dependency), the ``cheerio`` of the JS library.

Amounts and dates: a vendor writes ``1.224,00 €`` and ``06.12.2026`` in Germany, ``€1,224.00`` and
``06/12/2026`` in Britain, ``1 224,00 €`` in France. These helpers use **babel** (the CLDR data: each
locale's decimal and group symbols, currency symbols, date patterns and month names) with a locale the
connector names — the page's own ``<html lang>`` is usually the right one — and there is no default:
guessing the country is how ``1.224`` becomes one euro twenty-two. Why babel rather than the others:

- ``price-parser`` guesses the decimal separator from the digits (``1.224`` is ambiguous, so it guesses);
  a connector knows the locale and should say it, and a wrong guess must fail, not save a wrong amount;
- ``dateparser`` tries dozens of languages and formats (slow to import, and lenient: a garbled string
  still becomes *some* date); babel parses against the one locale's pattern and refuses the rest;
- babel is small, pure Python, maintained (Pallets-adjacent, used by Sphinx and Flask-Babel).

Every failure is a ``ValueError`` naming the text and the locale::

    >>> parse_amount("1.224,00 €", locale="de_DE")
    Amount(value=Decimal('1224.00'), currency='EUR')
    >>> parse_date("6. Dezember 2026", locale="de-DE")
    datetime.date(2026, 12, 6)
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    import httpx
    from babel import Locale
    from parsel import Selector

__all__ = ["Amount", "html_of", "parse_amount", "parse_date"]

_SPACES = "\u0020\u00a0\u202f\u2009\u2007"
_NUMBER = re.compile(rf"\d[\d{_SPACES}.,'’]*\d|\d")
_MINUS = ("-", "\u2212", "\u2013")


class Amount(NamedTuple):
    """A parsed amount: the exact ``Decimal`` and the ISO 4217 code of its currency. Unpacks as
    ``value, currency = parse_amount(...)``."""

    value: Decimal
    currency: str


@lru_cache(maxsize=32)
def _locale(name: str) -> Locale:
    from babel import Locale, UnknownLocaleError

    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"a locale is required (e.g. 'de_DE', 'fr-FR', 'en_GB'), got {name!r}")
    try:
        return Locale.parse(name.strip().replace("-", "_"))
    except (UnknownLocaleError, ValueError) as exc:
        raise ValueError(f"unknown locale {name!r}: {exc}") from None


def _currency(sign: str, locale: Locale, text: str, name: str) -> str | None:
    """The ISO code of ``sign`` (``€``, ``$``, ``EUR``, ``CHF``) as the locale writes currencies; a sign
    several currencies share (``$`` in ``en_CA``) goes to the locale's own territory's currency."""
    from babel.numbers import get_territory_currencies, is_currency

    sign = sign.strip(_SPACES)
    if not sign:
        return None
    if is_currency(sign.upper()) and sign.isalpha() and len(sign) == 3:
        return sign.upper()
    matches = [code for code, symbol in locale.currency_symbols.items() if symbol == sign]
    if len(matches) > 1 and locale.territory:
        local = [c for c in get_territory_currencies(locale.territory) if c in matches]
        matches = local[:1] or matches
    if len(matches) != 1:
        why = "is not a currency" if not matches else f"is ambiguous ({', '.join(sorted(matches))})"
        raise ValueError(f"amount {text!r} (locale {name}): {sign!r} {why} in this locale")
    return str(matches[0])


def parse_amount(text: str, *, locale: str, currency: str | None = None) -> Amount:
    """``"1.224,00 €"`` with ``locale="de_DE"`` → ``Amount(Decimal("1224.00"), "EUR")``.

    ``currency`` (an ISO code) is for texts that show none (``"1.224,00"`` in a column headed "EUR");
    when the text shows one, it must agree. A text with no currency and no ``currency=`` is refused:
    the framework does not guess a country's money either.

    The number must be well formed for the locale (babel's strict mode: ``1.224,00`` is refused in
    ``en_US``, which is what catches a wrong locale); a leading minus (``-``, ``−``) makes it negative.
    Any space between groups is accepted where the locale groups with a space (``fr_FR``).
    """
    from babel.numbers import NumberFormatError, get_decimal_symbol, get_group_symbol, parse_decimal

    loc = _locale(locale)
    found = _NUMBER.findall(text)
    if len(found) != 1:
        what = "no number" if not found else f"{len(found)} numbers"
        raise ValueError(f"amount {text!r} (locale {locale}): {what} in it, expected one")
    number = found[0]
    group = get_group_symbol(loc)
    if group in _SPACES:
        number = re.sub(f"[{_SPACES}]", group, number)
    elif any(c in _SPACES for c in number):
        raise ValueError(
            f"amount {text!r} (locale {locale}): spaces inside the number, but {loc} groups digits with {group!r}"
        )
    before, _, after = text.partition(found[0])
    negative = before.strip(_SPACES).startswith(_MINUS) or before.strip(_SPACES).endswith(_MINUS)
    sign = (before.strip(_SPACES).strip("".join(_MINUS)) + after).strip(_SPACES)
    try:
        value = parse_decimal(number, locale=loc, strict=True)
    except NumberFormatError as exc:
        decimal = get_decimal_symbol(loc)
        raise ValueError(f"amount {text!r} (locale {locale}, decimal {decimal!r}, group {group!r}): {exc}") from None
    shown = _currency(sign, loc, text, locale)
    if shown is not None and currency is not None and shown != currency.upper():
        raise ValueError(f"amount {text!r} (locale {locale}) is in {shown}, expected {currency.upper()}")
    code = shown or (currency.upper() if currency else None)
    if code is None:
        raise ValueError(
            f"amount {text!r} (locale {locale}) shows no currency: pass currency='EUR' (or the "
            "right ISO code) when the page states it elsewhere"
        )
    return Amount(-value if negative else value, code)


def parse_date(text: str, *, locale: str) -> date:
    """``"06.12.2026"`` (``de_DE``), ``"06/12/2026"`` (``en_GB``), ``"12/6/26"`` (``en_US``),
    ``"6. Dezember 2026"``, ``"Dec 6, 2026"``, or ISO ``2026-12-06`` → a ``date``.

    Day, month and year are read in the order of the locale's own date pattern; month names (wide or
    abbreviated, any case) are the locale's. Anything but exactly a day, a month and a year is refused.
    """
    from babel.dates import ParseError
    from babel.dates import parse_date as babel_parse_date

    loc = _locale(locale)
    cleaned = " ".join(text.split())
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", cleaned):
        try:
            return date.fromisoformat(cleaned)
        except ValueError as exc:
            raise ValueError(f"date {text!r} (locale {locale}): {exc}") from None
    numeric, named = _month_names_to_numbers(cleaned, loc)
    if len(re.findall(r"\d+", numeric)) != 3 or re.search(r"[^\W\d_]", numeric):
        raise ValueError(f"date {text!r} (locale {locale}): expected a day, a month and a year, e.g. {_example(loc)!r}")
    try:
        return babel_parse_date(numeric, locale=loc, format="long" if named else "short")
    except (ParseError, ValueError, IndexError) as exc:
        raise ValueError(f"date {text!r} (locale {locale}): {exc}") from None


def _month_names_to_numbers(text: str, loc: Locale) -> tuple[str, bool]:
    names: dict[str, int] = {}
    for context in ("format", "stand-alone"):
        for width in ("wide", "abbreviated"):
            for number, name in loc.months.get(context, {}).get(width, {}).items():
                names[str(name).lower().rstrip(".")] = number

    def swap(match: re.Match[str]) -> str:
        word = match.group(0).lower().rstrip(".")
        return f" {names[word]} " if word in names else match.group(0)

    replaced = re.sub(r"[^\W\d_]+\.?", swap, text)
    return replaced, replaced != text


def _example(loc: Locale) -> str:
    from babel.dates import format_date

    return format_date(date(2026, 12, 6), format="short", locale=loc)


def html_of(source: str | bytes | httpx.Response | Any, *, base_url: str | None = None) -> Selector:
    """Page source (``str``/``bytes``) or an ``httpx`` answer as a :class:`parsel.Selector`.

    An answer is decoded with its declared charset; its final URL (after redirects) becomes the
    document's base URL (``selector.root.base``: join relative links to it, as the browser would).
    """
    from parsel import Selector

    if isinstance(source, str):
        return Selector(text=source, base_url=base_url)
    if isinstance(source, bytes):
        return Selector(body=source, base_url=base_url, encoding="utf-8")
    text, url = getattr(source, "text", None), getattr(source, "url", None)
    if not isinstance(text, str):
        raise TypeError(f"html_of: expected page source or an httpx.Response, got {type(source).__name__}")
    return Selector(text=text, base_url=base_url or (str(url) if url is not None else None))
