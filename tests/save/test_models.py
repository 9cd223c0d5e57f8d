"""Entries and bills: aliases, dates, amounts, currency, validation messages."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from browserkonnector.save import Bill, BillValidationError, FileEntry, normalize_currency
from browserkonnector.save._models import as_bill


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("€", "EUR"),
        ("EUR €", "EUR"),
        ("$", "USD"),
        ("US$", "USD"),
        ("£", "GBP"),
        ("CHF", "CHF"),
        (None, "EUR"),
        ("", "EUR"),
    ],
)
def test_currency_is_normalised_as_save_bills_does(given: str | None, expected: str) -> None:
    """saveBills.js convertCurrency."""
    assert normalize_currency(given) == expected


@pytest.mark.parametrize(
    "date",
    [
        dt.datetime(2024, 1, 15, 0, 0, tzinfo=dt.UTC),
        dt.datetime(2024, 1, 15),
        dt.date(2024, 1, 15),
        "2024-01-15",
        "2024-01-15T00:00:00Z",
        "2024-01-15T01:00:00+01:00",
        "2024-01-15T00:00:00.000Z",
    ],
)
def test_dates_of_every_kind_are_stored_as_js_iso_strings(date: object) -> None:
    bill = Bill(vendor="EDF", date=date, amount=10)  # type: ignore[arg-type]
    assert bill.date == "2024-01-15T00:00:00.000Z"


def test_camel_and_snake_names_are_accepted_and_stored_camel() -> None:
    a = as_bill(
        {
            "vendor": "EDF",
            "date": "2024-01-15",
            "amount": 3,
            "vendorRef": "R1",
            "isRefund": True,
            "originalAmount": "4.5",
            "myOwnField": {"x": 1},
        }
    )
    b = Bill(
        vendor="EDF",
        date="2024-01-15",
        amount=3,
        vendor_ref="R1",
        is_refund=True,
        original_amount=4.5,
        myOwnField={"x": 1},
    )
    assert (
        a.doc()
        == b.doc()
        == {
            "vendor": "EDF",
            "date": "2024-01-15T00:00:00.000Z",
            "amount": 3.0,
            "currency": "EUR",
            "vendorRef": "R1",
            "isRefund": True,
            "originalAmount": 4.5,
            "myOwnField": {"x": 1},
        }
    )


def test_saving_only_fields_never_reach_the_document() -> None:
    async def fetch() -> None: ...

    bill = as_bill(
        {
            "vendor": "V",
            "date": "2024-01-01",
            "amount": 1,
            "fileurl": "http://x/a.pdf",
            "filename": "a.pdf",
            "fetchFile": fetch,
            "filestream": b"%PDF",
            "subPath": "s",
            "fileAttributes": {"metadata": {"carbonCopy": True}},
            "shouldReplaceName": "old.pdf",
            "qualificationLabel": "energy_invoice",
        }
    )
    doc = bill.doc()
    assert set(doc) == {"vendor", "date", "amount", "currency", "fileurl", "filename"}
    assert bill.file_attributes["metadata"]["qualification"]["label"] == "energy_invoice"
    assert bill.file_attributes["metadata"]["carbonCopy"] is True


@pytest.mark.parametrize(
    ("bill", "message"),
    [
        ({"date": "2024-01-01", "amount": 1}, "bill #0 (date='2024-01-01') is missing the required vendor attribute"),
        ({"vendor": "V", "amount": 1}, "bill #0 (vendor='V') is missing the required date attribute"),
        ({"vendor": "V", "date": "2024-01-01"}, "is missing the required amount attribute"),
        (
            {"vendor": "V", "date": "2024-01-01", "amount": "bad amount type"},
            "has an invalid amount: 'bad amount type' is not a number",
        ),
        ({"vendor": "V", "date": "2024-01-01", "amount": True}, "has an invalid amount: True is a boolean"),
        ({"vendor": "V", "date": "2024-01-01", "amount": math.nan}, "has an invalid amount: nan is not a finite"),
        ({"vendor": "V", "date": "yesterday", "amount": 1}, "has an invalid date: 'yesterday' is not a date"),
        ({"vendor": 12, "date": "2024-01-01", "amount": 1}, "has an invalid vendor: vendor must be a string"),
    ],
)
def test_invalid_bills_are_refused_naming_the_bill_and_attribute(bill: dict[str, object], message: str) -> None:
    """Ports saveBills.spec.js 'should check required attributes in bills' (and goes further)."""
    with pytest.raises(BillValidationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        as_bill(bill, 0)


def test_numeric_strings_are_numbers() -> None:
    assert as_bill({"vendor": "V", "date": "2024-01-01", "amount": " 12.50 "}).amount == 12.5


def test_file_entry_content_kinds() -> None:
    assert FileEntry(filename="a.txt", content="héllo").content == "héllo".encode()
    assert FileEntry.model_validate({"filename": "a", "filestream": bytearray(b"ab")}).content == b"ab"
    with pytest.raises(ValueError, match="content must be bytes"):
        FileEntry(filename="a", content=12)
    assert not FileEntry(filename="a").has_source
