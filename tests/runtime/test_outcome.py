"""Whatever ends a run maps to the code the stack records."""

from __future__ import annotations

import httpx

from browserkonnector import _errors as errors
from browserkonnector._errors import KonnectorError
from browserkonnector.runtime._outcome import classify
from browserkonnector.store._errors import QuotaExceeded


def test_konnector_errors_keep_their_code() -> None:
    failure = classify(KonnectorError(errors.LOGIN_FAILED))
    assert failure.code == "LOGIN_FAILED"
    assert failure.no_retry


def test_vendor_5xx_and_unreachable_are_vendor_down() -> None:
    request = httpx.Request("GET", "http://vendor.test/api/bills?token=abc")
    error = httpx.HTTPStatusError("boom", request=request, response=httpx.Response(503, request=request))
    failure = classify(error)
    assert failure.code == errors.VENDOR_DOWN
    assert "token=abc" not in failure.detail
    assert classify(httpx.ConnectError("refused", request=request)).code == errors.VENDOR_DOWN


def test_quota_is_disk_quota_exceeded_and_anything_else_unknown() -> None:
    assert classify(QuotaExceeded("full")).code == errors.DISK_QUOTA_EXCEEDED
    failure = classify(ZeroDivisionError("division by zero"))
    assert failure.code == errors.UNKNOWN_ERROR
    assert not failure.expected


def test_error_codes_are_checked() -> None:
    import pytest

    with pytest.raises(ValueError, match="is not an error code"):
        KonnectorError("login failed")
    assert KonnectorError("VENDOR_DOWN.SOMETHING_NEW").meaning == errors.MEANINGS[errors.VENDOR_DOWN]
