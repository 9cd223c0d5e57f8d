"""The exception tree: connectors catch and raise types, ``KonnectorError(code)`` keeps working and builds
the type of its code, and an error survives a trip through pickle (task queues, process pools)."""

from __future__ import annotations

import pickle

import pytest

import browserkonnector
from browserkonnector import _errors as errors
from browserkonnector._errors import (
    MEANINGS,
    AccountNotFound,
    CaptchaFailed,
    FileFailed,
    InvalidFields,
    KonnectorError,
    LoginFailed,
    TwoFactorFailed,
    UnknownError,
    UserActionNeeded,
    VendorDown,
)
from browserkonnector.runtime._outcome import classify

FAMILY_OF = {
    errors.LOGIN_FAILED: LoginFailed,
    errors.LOGIN_FAILED_TOO_MANY_ATTEMPTS: LoginFailed,
    errors.VENDOR_DOWN: VendorDown,
    errors.VENDOR_DOWN_BANK_DOWN: VendorDown,
    errors.MAINTENANCE: VendorDown,
    errors.INVALID_FIELDS: InvalidFields,
    errors.USER_ACTION_NEEDED_WRONG_TWOFA_CODE: TwoFactorFailed,
    errors.USER_ACTION_NEEDED_TWOFA_EXPIRED: TwoFactorFailed,
    errors.CHALLENGE_ASKED: TwoFactorFailed,
    errors.USER_ACTION_NEEDED_CHANGE_PASSWORD: UserActionNeeded,
    errors.TOS_NOT_ACCEPTED: UserActionNeeded,
    errors.CAPTCHA_RESOLUTION_FAILED_TIMEOUT: CaptchaFailed,
    errors.DISK_QUOTA_EXCEEDED: FileFailed,
    errors.FILE_DOWNLOAD_FAILED: FileFailed,
    errors.NOT_EXISTING_DIRECTORY: FileFailed,
    errors.CANNOT_FIND_ACCOUNT: AccountNotFound,
    errors.SITE_CHANGED: UnknownError,
    errors.TIMEOUT: UnknownError,
    "VENDOR_DOWN.OUR_OWN_SUBCODE": VendorDown,
    "SOMETHING_ELSE": KonnectorError,
}


def test_every_code_of_the_contract_has_a_family() -> None:
    for code in MEANINGS:
        assert type(KonnectorError(code)) is not KonnectorError, code


@pytest.mark.parametrize(("code", "family"), FAMILY_OF.items())
def test_konnector_error_of_a_code_is_an_instance_of_its_family(code: str, family: type[KonnectorError]) -> None:
    error = KonnectorError(code, "what happened")
    assert type(error) is family
    assert (error.code, error.detail, str(error)) == (code, "what happened", f"{code}: what happened")
    assert isinstance(error, KonnectorError)


def test_a_family_raises_with_its_main_code_and_a_detail_first() -> None:
    assert LoginFailed().code == errors.LOGIN_FAILED
    failed = LoginFailed("the site said: unknown e-mail")
    assert (failed.code, failed.detail, failed.no_retry) == (errors.LOGIN_FAILED, "the site said: unknown e-mail", True)
    assert VendorDown().no_retry is False
    assert VendorDown(errors.MAINTENANCE, "until noon").code == errors.MAINTENANCE
    assert TwoFactorFailed().code == errors.USER_ACTION_NEEDED_WRONG_TWOFA_CODE
    with pytest.raises(ValueError, match="LoginFailed stands for LOGIN_FAILED, not 'VENDOR_DOWN'"):
        LoginFailed(errors.VENDOR_DOWN)
    with pytest.raises(ValueError, match="'login failed' is not an error code"):
        KonnectorError("login failed")
    with pytest.raises(TypeError, match="needs an error code"):
        KonnectorError()


def test_catching_a_type_catches_the_string_style_too() -> None:
    with pytest.raises(LoginFailed):
        raise KonnectorError(errors.LOGIN_FAILED)
    with pytest.raises(UserActionNeeded):
        raise KonnectorError(errors.INVALID_FIELDS, "password: missing")
    assert classify(LoginFailed("x")).code == errors.LOGIN_FAILED
    assert classify(VendorDown(errors.VENDOR_DOWN_BANK_DOWN)).code == errors.VENDOR_DOWN_BANK_DOWN


@pytest.mark.parametrize(
    "error",
    [KonnectorError(errors.VENDOR_DOWN, "503 x5", no_retry=True), LoginFailed(), KonnectorError("OUR.OWN_CODE", "d")],
)
def test_errors_survive_pickle_with_code_detail_and_flag(error: KonnectorError) -> None:
    back = pickle.loads(pickle.dumps(error))
    assert type(back) is type(error)
    assert (back.code, back.detail, back.no_retry, str(back)) == (error.code, error.detail, error.no_retry, str(error))


def test_the_package_exports_the_tree() -> None:
    for name in (
        "LoginFailed",
        "VendorDown",
        "TwoFactorFailed",
        "InvalidFields",
        "UserActionNeeded",
        "FileFailed",
        "CaptchaFailed",
        "AccountNotFound",
        "UnknownError",
    ):
        assert getattr(browserkonnector, name) is getattr(errors, name)
        assert name in browserkonnector.__all__
