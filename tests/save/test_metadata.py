"""cozyMetadata stamping and qualification labels."""

from __future__ import annotations

import datetime as dt

import pytest

from browserkonnector.save import get_cozy_metadata, qualification_for, qualification_labels
from browserkonnector.store._base import AppInfo

APP = AppInfo(slug="testapp", version="0.0.1")
NOW = dt.datetime(2019, 1, 1, tzinfo=dt.UTC)
NOW_ISO = "2019-01-01T00:00:00.000Z"


def test_proper_defaults() -> None:
    """Ports manifest.spec.js 'should return proper defaults'."""
    assert get_cozy_metadata(APP, now=NOW) == {
        "createdAt": NOW_ISO,
        "doctypeVersion": 1,
        "metadataVersion": 1,
        "createdByApp": "testapp",
        "createdByAppVersion": "0.0.1",
        "updatedAt": NOW_ISO,
        "updatedByApps": [{"slug": "testapp", "date": NOW_ISO, "version": "0.0.1"}],
    }


def test_overloads_existing_data_on_the_same_slug() -> None:
    """Ports manifest.spec.js 'should overload exsting data on the same slug'."""
    existing = {
        "doctypeVersion": 2,
        "updatedByApps": [{"slug": "otherapp"}, {"slug": "testapp", "date": "2000-01-01", "version": "1.1.1"}],
    }
    assert get_cozy_metadata(APP, existing=existing, now=NOW) == {
        "createdAt": NOW_ISO,
        "doctypeVersion": 2,
        "metadataVersion": 1,
        "createdByApp": "testapp",
        "createdByAppVersion": "0.0.1",
        "updatedAt": NOW_ISO,
        "updatedByApps": [{"slug": "otherapp"}, {"slug": "testapp", "date": NOW_ISO, "version": "0.0.1"}],
    }


def test_update_keeps_created_at_and_refreshes_updated_at() -> None:
    """The deliberate fix of the addData quirk (JS addData): updatedAt moves, createdAt stays."""
    first = get_cozy_metadata(APP, source_account="acc1", source_account_identifier="me@x", now=NOW)
    later = dt.datetime(2020, 5, 6, 7, 8, 9, tzinfo=dt.UTC)
    again = get_cozy_metadata(APP, existing=first, now=later)
    assert again["createdAt"] == NOW_ISO
    assert again["updatedAt"] == "2020-05-06T07:08:09.000Z"
    assert again["updatedByApps"] == [{"slug": "testapp", "date": "2020-05-06T07:08:09.000Z", "version": "0.0.1"}]
    assert again["sourceAccount"] == "acc1"
    assert again["sourceAccountIdentifier"] == "me@x"
    assert "importedAt" not in again


def test_no_none_in_metadata() -> None:
    meta = get_cozy_metadata(APP, now=NOW)
    assert "sourceAccount" not in meta
    assert "sourceAccountIdentifier" not in meta


def test_qualification_for_known_label() -> None:
    assert qualification_for("energy_invoice") == {
        "label": "energy_invoice",
        "purpose": "invoice",
        "sourceCategory": "energy",
    }
    copy = qualification_for("energy_invoice")
    copy["purpose"] = "changed"
    assert qualification_for("energy_invoice")["purpose"] == "invoice"
    assert len(qualification_labels()) == 99


def test_qualification_unknown_label_names_it_and_close_ones() -> None:
    with pytest.raises(ValueError, match=r"'energy_bill'.*'energy_invoice'"):
        qualification_for("energy_bill")
