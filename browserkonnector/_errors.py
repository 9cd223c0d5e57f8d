"""The error codes a connector run ends with, and the exceptions that carry them.

These are the strings of cozy-konnector-libs' ``errors`` export, byte for byte: the Cozy stack stores the
message of the last ``critical`` line as the job error, and the Home app, cozy-banks and the stack itself
(which stops scheduling a konnector after ``LOGIN_FAILED`` or ``USER_ACTION_NEEDED*``) branch on them.
A connector ends a run with one of them::

    from browserkonnector import errors, KonnectorError

    raise KonnectorError(errors.LOGIN_FAILED)
    raise KonnectorError(errors.VENDOR_DOWN, "the bills API answered 503 five times")

The second argument is a detail for the logs; the critical line carries the code alone, as the stack
expects. Any other exception that escapes a connector ends the run as ``UNKNOWN_ERROR``. Each family of
codes also has its exception class (``LoginFailed``, ``VendorDown``, ``TwoFactorFailed``...: see
:class:`KonnectorError`), so connectors can catch and raise types::

    raise LoginFailed("the site said: unknown e-mail")
    except VendorDown: ...

This module is the bottom of the package: every layer may import it, it imports nothing of ours.
"""

from __future__ import annotations

from typing import Any, ClassVar, Final

__all__ = [
    "ACTIONABLE",
    "MEANINGS",
    "AccountNotFound",
    "CaptchaFailed",
    "FileFailed",
    "InvalidFields",
    "KonnectorError",
    "LoginFailed",
    "TwoFactorFailed",
    "UnknownError",
    "UserActionNeeded",
    "VendorDown",
    "is_known_code",
]

# -- login ------------------------------------------------------------------------------------------------
LOGIN_FAILED: Final = "LOGIN_FAILED"
LOGIN_FAILED_NEEDS_SECRET: Final = "LOGIN_FAILED.NEEDS_SECRET"
LOGIN_FAILED_TOO_MANY_ATTEMPTS: Final = "LOGIN_FAILED.TOO_MANY_ATTEMPTS"
# -- files and folders ------------------------------------------------------------------------------------
NOT_EXISTING_DIRECTORY: Final = "NOT_EXISTING_DIRECTORY"
FILE_DOWNLOAD_FAILED: Final = "FILE_DOWNLOAD_FAILED"
SAVE_FILE_FAILED: Final = "SAVE_FILE_FAILED"
DISK_QUOTA_EXCEEDED: Final = "DISK_QUOTA_EXCEEDED"
# -- the user must act ------------------------------------------------------------------------------------
CHALLENGE_ASKED: Final = "CHALLENGE_ASKED"
USER_ACTION_NEEDED: Final = "USER_ACTION_NEEDED"
USER_ACTION_NEEDED_OAUTH_OUTDATED: Final = "USER_ACTION_NEEDED.OAUTH_OUTDATED"
USER_ACTION_NEEDED_ACCOUNT_REMOVED: Final = "USER_ACTION_NEEDED.ACCOUNT_REMOVED"
USER_ACTION_NEEDED_CHANGE_PASSWORD: Final = "USER_ACTION_NEEDED.CHANGE_PASSWORD"
USER_ACTION_NEEDED_PERMISSIONS_CHANGED: Final = "USER_ACTION_NEEDED.PERMISSIONS_CHANGED"
USER_ACTION_NEEDED_CGU_FORM: Final = "USER_ACTION_NEEDED.CGU_FORM"
USER_ACTION_NEEDED_SCA_REQUIRED: Final = "USER_ACTION_NEEDED.SCA_REQUIRED"
USER_ACTION_NEEDED_TWOFA_EXPIRED: Final = "USER_ACTION_NEEDED.TWOFA_EXPIRED"
USER_ACTION_NEEDED_WEBAUTH_REQUIRED: Final = "USER_ACTION_NEEDED.WEBAUTH_REQUIRED"
USER_ACTION_NEEDED_WRONG_TWOFA_CODE: Final = "USER_ACTION_NEEDED.WRONG_TWOFA_CODE"
CAPTCHA_RESOLUTION_FAILED: Final = "CAPTCHA_RESOLUTION_FAILED"
CAPTCHA_RESOLUTION_FAILED_TIMEOUT: Final = "CAPTCHA_RESOLUTION_FAILED.TIMEOUT"
TERMS_VERSION_MISMATCH: Final = "TERMS_VERSION_MISMATCH"
# -- the vendor -------------------------------------------------------------------------------------------
MAINTENANCE: Final = "MAINTENANCE"
VENDOR_DOWN: Final = "VENDOR_DOWN"
VENDOR_DOWN_BANK_DOWN: Final = "VENDOR_DOWN.BANK_DOWN"
VENDOR_DOWN_LINXO_DOWN: Final = "VENDOR_DOWN.LINXO_DOWN"
# -- everything else --------------------------------------------------------------------------------------
UNKNOWN_ERROR: Final = "UNKNOWN_ERROR"
UNKNOWN_ERROR_PARTIAL_SYNC: Final = "UNKNOWN_ERROR.PARTIAL_SYNC"
# -- thrown by BaseKonnector itself, not in the ``errors`` export but part of the same contract --------------
CANNOT_FIND_ACCOUNT: Final = "CANNOT_FIND_ACCOUNT"
TOS_NOT_ACCEPTED: Final = "TOS_NOT_ACCEPTED"
# -- ours ---------------------------------------------------------------------------------------------------
#: The site no longer looks like it did on the last good run (an API answer changed shape, a step found
#: nothing where it found items before). A sub-code of UNKNOWN_ERROR so that Cozy's apps, which know only
#: the prefix, still show "unknown error", while logs and our tooling can tell it apart.
SITE_CHANGED: Final = "UNKNOWN_ERROR.SITE_CHANGED"
#: The run reached ``--timeout`` / ``COZY_TIME_LIMIT`` and stopped itself before the stack killed it.
TIMEOUT: Final = "UNKNOWN_ERROR.TIMEOUT"
#: ``--replay``: the connector asked for something the recording does not hold (the site or the connector
#: changed since it was recorded: re-record with ``--record``).
REPLAY_MISS: Final = "UNKNOWN_ERROR.REPLAY_MISS"
#: The run got SIGTERM or SIGINT and stopped cleanly (exit 143 / 130). The JS library ends such a run with
#: the sentence "The konnector got a SIGTERM" as its critical line; a code keeps the line a code, and, as a
#: sub-code of UNKNOWN_ERROR, Cozy's apps show it as they showed that sentence.
STOPPED: Final = "UNKNOWN_ERROR.STOPPED"
#: A file was larger than the run's file-size cap (``BROWSERKONNECTOR_MAX_FILE_MB``); it was not saved.
FILE_TOO_LARGE: Final = "FILE_DOWNLOAD_FAILED.TOO_LARGE"
#: A file could not be downloaded within its time limit (``file_timeout``, retries included).
FILE_DOWNLOAD_TIMEOUT: Final = "FILE_DOWNLOAD_FAILED.TIMEOUT"
#: The browser host (``--connect``, ``browserkonnector browser-server``) could not be reached, was full,
#: or went away during the run. Nobody's fault the user can fix, and not the vendor's: retry later (a task
#: queue retries it). A sub-code of UNKNOWN_ERROR so that Cozy's apps still understand it.
BROWSER_UNAVAILABLE: Final = "UNKNOWN_ERROR.BROWSER_UNAVAILABLE"
#: A field is missing or invalid (checked before the browser starts). A USER_ACTION_NEEDED sub-code: the
#: stack then stops scheduling the konnector until the user fixes the account and runs it by hand.
INVALID_FIELDS: Final = "USER_ACTION_NEEDED.INVALID_FIELDS"

MEANINGS: Final[dict[str, str]] = {
    LOGIN_FAILED: "the vendor refused the credentials",
    LOGIN_FAILED_NEEDS_SECRET: "an extra secret is needed to check the login",
    LOGIN_FAILED_TOO_MANY_ATTEMPTS: "the vendor account is temporarily blocked after too many attempts",
    NOT_EXISTING_DIRECTORY: "the destination folder (folder_to_save / account.folderId) does not exist",
    FILE_DOWNLOAD_FAILED: "a file could not be downloaded from the vendor",
    SAVE_FILE_FAILED: "a file could not be saved into the Cozy",
    DISK_QUOTA_EXCEEDED: "the Cozy is full: the stack answered 413 to an upload",
    CHALLENGE_ASKED: "the vendor asked for a second factor the connector does not support",
    USER_ACTION_NEEDED: "the user must act on the vendor's website",
    USER_ACTION_NEEDED_OAUTH_OUTDATED: "the OAuth access must be renewed",
    USER_ACTION_NEEDED_ACCOUNT_REMOVED: "the vendor account is no longer available",
    USER_ACTION_NEEDED_CHANGE_PASSWORD: "the user must change the password on the vendor's website",
    USER_ACTION_NEEDED_PERMISSIONS_CHANGED: "the permissions granted to the connector changed",
    USER_ACTION_NEEDED_CGU_FORM: "the vendor's new terms (CGU) must be accepted",
    USER_ACTION_NEEDED_SCA_REQUIRED: "strong customer authentication must be renewed",
    USER_ACTION_NEEDED_TWOFA_EXPIRED: "the second factor was impossible (not a manual run) or not given in time",
    USER_ACTION_NEEDED_WEBAUTH_REQUIRED: "the user must log in on the vendor's website",
    USER_ACTION_NEEDED_WRONG_TWOFA_CODE: "the second-factor code was wrong",
    CAPTCHA_RESOLUTION_FAILED: "a captcha could not be solved",
    CAPTCHA_RESOLUTION_FAILED_TIMEOUT: "a captcha was not solved in time",
    TERMS_VERSION_MISMATCH: "the user must accept new Cozy terms",
    MAINTENANCE: "the vendor's website is in maintenance",
    VENDOR_DOWN: "the vendor's website is unreachable or keeps failing",
    VENDOR_DOWN_BANK_DOWN: "the bank's website is unavailable",
    VENDOR_DOWN_LINXO_DOWN: "the aggregator is unavailable",
    UNKNOWN_ERROR: "an unexpected error (its traceback is in the debug log)",
    UNKNOWN_ERROR_PARTIAL_SYNC: "the run finished but some data may be missing",
    CANNOT_FIND_ACCOUNT: "the io.cozy.accounts document named in COZY_FIELDS could not be read",
    TOS_NOT_ACCEPTED: "the Cozy's terms of service must be accepted first",
    SITE_CHANGED: "the vendor's website changed since the last good run (see the site-change report)",
    TIMEOUT: "the run reached its time limit and stopped itself",
    INVALID_FIELDS: "a field of the account or of the configuration is missing or invalid",
    STOPPED: "the run was stopped by a signal (SIGTERM or SIGINT) and ended cleanly",
    FILE_TOO_LARGE: "a file was larger than the file-size cap and was not saved",
    FILE_DOWNLOAD_TIMEOUT: "a file could not be downloaded within its time limit",
    REPLAY_MISS: "a replayed run asked for a request its recording does not hold",
    BROWSER_UNAVAILABLE: "the browser host could not be reached, was full, or went away during the run (retry)",
}

#: Codes the user can fix (cozy-banks' list): a UI may offer an action instead of "try later".
ACTIONABLE: Final = frozenset(
    {
        CHALLENGE_ASKED,
        DISK_QUOTA_EXCEEDED,
        TERMS_VERSION_MISMATCH,
        USER_ACTION_NEEDED,
        USER_ACTION_NEEDED_CHANGE_PASSWORD,
        USER_ACTION_NEEDED_ACCOUNT_REMOVED,
        USER_ACTION_NEEDED_WEBAUTH_REQUIRED,
        USER_ACTION_NEEDED_SCA_REQUIRED,
        LOGIN_FAILED,
    }
)


def is_known_code(code: str) -> bool:
    """True for a code of the contract, or a dotted sub-code of one (``VENDOR_DOWN.SOMETHING``)."""
    return code in MEANINGS or code.split(".", 1)[0] in MEANINGS


def _is_code(text: str) -> bool:
    return bool(text) and all(part and part.replace("_", "").isalnum() and part.isupper() for part in text.split("."))


class KonnectorError(Exception):
    """Ends a run with an error code of the Cozy contract.

    ``code`` is what the critical line carries and the stack records; ``detail`` is a human explanation
    for the logs only. ``no_retry`` sets the protocol's ``no_retry`` flag (the stack then does not retry
    the job), which suits codes that need the user, such as ``LOGIN_FAILED``.

    An unknown code is accepted (connectors in the wild use their own sub-codes) but must be uppercase
    words joined by dots, like the contract's, so a typo such as ``"login failed"`` fails loudly.

    **A tree of types.** Each family of codes has a subclass, so that connectors catch types instead of
    comparing strings, and raise without importing a code::

        KonnectorError                      any code
        ├── LoginFailed                     LOGIN_FAILED, LOGIN_FAILED.*
        ├── UserActionNeeded                USER_ACTION_NEEDED.*, CHALLENGE_ASKED, TERMS_VERSION_MISMATCH,
        │   │                               TOS_NOT_ACCEPTED
        │   ├── InvalidFields               USER_ACTION_NEEDED.INVALID_FIELDS
        │   └── TwoFactorFailed             USER_ACTION_NEEDED.WRONG_TWOFA_CODE, .TWOFA_EXPIRED, CHALLENGE_ASKED
        ├── VendorDown                      VENDOR_DOWN, VENDOR_DOWN.*, MAINTENANCE
        ├── CaptchaFailed                   CAPTCHA_RESOLUTION_FAILED, .TIMEOUT
        ├── FileFailed                      FILE_DOWNLOAD_FAILED, SAVE_FILE_FAILED, DISK_QUOTA_EXCEEDED,
        │                                   NOT_EXISTING_DIRECTORY (and their sub-codes)
        ├── AccountNotFound                 CANNOT_FIND_ACCOUNT
        └── UnknownError                    UNKNOWN_ERROR, UNKNOWN_ERROR.* (site changed, time-out, replay miss)

    ``KonnectorError(code)`` builds the subclass of that code's family (``KonnectorError(LOGIN_FAILED)``
    *is* a ``LoginFailed``), so ``except LoginFailed`` catches both styles. A subclass takes its family's
    main code by default and a detail as its first argument: ``raise LoginFailed("the site said: unknown
    e-mail")``, ``raise VendorDown(errors.MAINTENANCE)``; a code of another family is refused.
    """

    #: The code of ``Subclass()`` without arguments (None: a code must be given).
    CODE: ClassVar[str | None] = None
    #: The codes (and their sub-codes) this class stands for, for the dispatch of ``KonnectorError(code)``.
    FAMILY: ClassVar[tuple[str, ...]] = ()

    def __new__(cls, code: str | None = None, *args: Any, **kwargs: Any) -> KonnectorError:
        chosen = _family_of(code) if cls is KonnectorError and isinstance(code, str) else cls
        instance: KonnectorError = super().__new__(chosen)
        return instance

    def __init__(self, code: str | None = None, detail: str | None = None, *, no_retry: bool | None = None) -> None:
        default = type(self).CODE
        if code is None:
            if default is None:
                raise TypeError(f"{type(self).__name__}() needs an error code")
            code = default
        elif default is not None and detail is None and not _is_code(code):
            code, detail = default, code  # LoginFailed("what the site said"): a detail, not a code
        if not _is_code(code):
            raise ValueError(
                f"{code!r} is not an error code: use one of browserkonnector._errors "
                "(uppercase words joined by dots, e.g. 'LOGIN_FAILED')"
            )
        family = type(self).FAMILY
        if family and not _in_family(code, family):
            raise ValueError(
                f"{type(self).__name__} stands for {', '.join(family)}, not {code!r}: "
                f"raise KonnectorError({code!r}) or the class of that code"
            )
        super().__init__(code if detail is None else f"{code}: {detail}")
        self.code = code
        self.detail = detail
        self.no_retry = (code in ACTIONABLE) if no_retry is None else no_retry

    def __reduce__(self) -> tuple[Any, ...]:
        # Rebuilt from (code, detail), not from the message: errors cross processes (task queues, pools).
        return (_rebuild, (type(self), self.code, self.detail), self.__dict__)

    @property
    def meaning(self) -> str:
        """What the code means, for humans; a sub-code falls back to its parent's meaning."""
        return MEANINGS.get(self.code) or MEANINGS.get(self.code.split(".", 1)[0], "unknown code")


def _rebuild(cls: type[KonnectorError], code: str, detail: str | None) -> KonnectorError:
    error = KonnectorError.__new__(cls, code)
    KonnectorError.__init__(error, code, detail)
    return error


def _in_family(code: str, family: tuple[str, ...]) -> bool:
    return any(code == member or code.startswith(member + ".") for member in family)


class LoginFailed(KonnectorError):
    """The vendor refused the credentials (or blocked the account after too many attempts)."""

    CODE = LOGIN_FAILED
    FAMILY = (LOGIN_FAILED,)


class UserActionNeeded(KonnectorError):
    """The user must do something (on the vendor's site, in the Cozy, in the account's settings)."""

    CODE: ClassVar[str | None] = USER_ACTION_NEEDED
    FAMILY: ClassVar[tuple[str, ...]] = (USER_ACTION_NEEDED, CHALLENGE_ASKED, TERMS_VERSION_MISMATCH, TOS_NOT_ACCEPTED)


class InvalidFields(UserActionNeeded):
    """A field of the account or of the configuration is missing or invalid."""

    CODE = INVALID_FIELDS
    FAMILY = (INVALID_FIELDS,)


class TwoFactorFailed(UserActionNeeded):
    """The second factor failed: a wrong code, no code in time, or a challenge the connector cannot pass."""

    CODE = USER_ACTION_NEEDED_WRONG_TWOFA_CODE
    FAMILY = (USER_ACTION_NEEDED_WRONG_TWOFA_CODE, USER_ACTION_NEEDED_TWOFA_EXPIRED, CHALLENGE_ASKED)


class VendorDown(KonnectorError):
    """The vendor's site is unreachable, keeps failing, or is in maintenance: a later run may succeed."""

    CODE = VENDOR_DOWN
    FAMILY = (VENDOR_DOWN, MAINTENANCE)


class CaptchaFailed(KonnectorError):
    """A captcha could not be solved (in time)."""

    CODE = CAPTCHA_RESOLUTION_FAILED
    FAMILY = (CAPTCHA_RESOLUTION_FAILED,)


class FileFailed(KonnectorError):
    """A file could not be fetched from the vendor or stored into the Cozy (full, missing folder...)."""

    CODE = FILE_DOWNLOAD_FAILED
    FAMILY = (FILE_DOWNLOAD_FAILED, SAVE_FILE_FAILED, DISK_QUOTA_EXCEEDED, NOT_EXISTING_DIRECTORY)


class AccountNotFound(KonnectorError):
    """The io.cozy.accounts document the job names could not be read."""

    CODE = CANNOT_FIND_ACCOUNT
    FAMILY = (CANNOT_FIND_ACCOUNT,)


class UnknownError(KonnectorError):
    """Anything else: the site changed, the run timed out, a replay missed, or a plain bug."""

    CODE = UNKNOWN_ERROR
    FAMILY = (UNKNOWN_ERROR,)


#: Most specific first: a family inside another (InvalidFields in UserActionNeeded) must win.
_FAMILIES: tuple[type[KonnectorError], ...] = (
    InvalidFields,
    TwoFactorFailed,
    LoginFailed,
    UserActionNeeded,
    VendorDown,
    CaptchaFailed,
    FileFailed,
    AccountNotFound,
    UnknownError,
)


def _family_of(code: str) -> type[KonnectorError]:
    return next((cls for cls in _FAMILIES if _in_family(code, cls.FAMILY)), KonnectorError)
