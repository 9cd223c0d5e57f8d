"""Locale-aware amounts and dates (babel), and HTML parsing: what a server-rendered page writes for people."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import httpx
import pytest

from browserkonnector import Amount, html_of, parse_amount, parse_date


@pytest.mark.parametrize(("text", "locale", "expected"), [
    ("1.224,00\u00a0€", "de_DE", Amount(Decimal("1224.00"), "EUR")),
    ("1.224,00 €", "de-DE", Amount(Decimal("1224.00"), "EUR")),
    ("€1,224.00", "en_GB", Amount(Decimal("1224.00"), "EUR")),
    ("1\u202f224,00 €", "fr_FR", Amount(Decimal("1224.00"), "EUR")),
    ("1 224,00 €", "fr_FR", Amount(Decimal("1224.00"), "EUR")),
    ("-12,50 €", "de_DE", Amount(Decimal("-12.50"), "EUR")),
    ("−12,50 €", "de_DE", Amount(Decimal("-12.50"), "EUR")),
    ("CHF 12.50", "de_CH", Amount(Decimal("12.50"), "CHF")),
    ("$3.00", "en_US", Amount(Decimal("3.00"), "USD")),
    ("EUR 7,10", "de_DE", Amount(Decimal("7.10"), "EUR")),
])  # fmt: skip
def test_amounts(text: str, locale: str, expected: Amount) -> None:
    assert parse_amount(text, locale=locale) == expected
    value, currency = parse_amount(text, locale=locale)
    assert (value, currency) == expected


def test_an_amount_without_currency_needs_one_given() -> None:
    assert parse_amount("1.224,00", locale="de_DE", currency="eur") == (Decimal("1224.00"), "EUR")
    with pytest.raises(ValueError, match=r"'1\.224,00' \(locale de_DE\) shows no currency"):
        parse_amount("1.224,00", locale="de_DE")
    with pytest.raises(ValueError, match="is in EUR, expected USD"):
        parse_amount("1,00 €", locale="de_DE", currency="USD")


@pytest.mark.parametrize(("text", "locale", "message"), [
    ("1.224,00 €", "en_US", r"amount '1\.224,00 €' \(locale en_US.*not a properly formatted"),
    ("abc", "de_DE", "no number in it"),
    ("1,00 € + 2,00 €", "de_DE", "2 numbers"),
    ("12 ¤¤", "de_DE", "'¤¤' is not a currency"),
    ("1,00 €", "", "a locale is required"),
    ("1,00 €", "xx_YY", "unknown locale 'xx_YY'"),
])  # fmt: skip
def test_bad_amounts_name_the_text_and_locale(text: str, locale: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_amount(text, locale=locale)


@pytest.mark.parametrize(("text", "locale"), [
    ("06.12.2026", "de_DE"), ("6.12.2026", "de-DE"), ("06/12/2026", "en_GB"), ("12/6/26", "en_US"),
    ("6. Dezember 2026", "de_DE"), ("6. Dez. 2026", "de_DE"), ("Dec 6, 2026", "en_US"),
    ("December 6, 2026", "en_US"), ("6 déc. 2026", "fr_FR"), ("2026-12-06", "de_DE"), (" 06.12.2026 ", "de_DE"),
])  # fmt: skip
def test_dates(text: str, locale: str) -> None:
    assert parse_date(text, locale=locale) == date(2026, 12, 6)


@pytest.mark.parametrize(("text", "locale", "message"), [
    ("31.02.2026", "de_DE", r"date '31\.02\.2026' \(locale de_DE\)"),
    ("foo", "de_DE", "expected a day, a month and a year"),
    ("12 06 2026 99", "de_DE", "expected a day, a month and a year"),
    ("6 Foo 2026", "de_DE", "expected a day, a month and a year"),
    ("2026-13-01", "de_DE", "month must be in 1..12"),
])  # fmt: skip
def test_bad_dates_name_the_text_and_locale(text: str, locale: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_date(text, locale=locale)


def test_html_of_text_bytes_and_answers() -> None:
    assert html_of("<p class=a>x</p>").css("p.a::text").get() == "x"
    assert html_of("<p>é</p>".encode()).css("p::text").get() == "é"
    answer = httpx.Response(200, html="<a href='/next'>n</a>", request=httpx.Request("GET", "http://shop.test/o/"))
    page = html_of(answer)
    assert page.css("a::attr(href)").get() == "/next"
    assert page.root.base == "http://shop.test/o/"
    with pytest.raises(TypeError, match="got int"):
        html_of(3)
