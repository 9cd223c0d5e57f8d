"""Entries of the save pipeline: :class:`FileEntry` (a file to save) and :class:`Bill` (an io.cozy.bills).

Connectors written in the JS style pass plain dicts with camelCase keys (``fileurl``, ``fileAttributes``,
``vendorRef``); Python connectors pass models with snake_case names. Both are accepted everywhere:
every field has its camelCase alias, either spelling validates, and a bill is **stored camelCase**
(the io.cozy.bills doctype's names). Unknown extra fields are kept and stored as given.

Validation happens when the model is built, before anything is downloaded: a bill without a vendor,
with a date that is not a date or an amount that is not a finite number is refused with a message
naming the bill and the attribute (:class:`BillValidationError`). Dates accept ``datetime``, ``date``
and ISO 8601 strings and are stored as ``toISOString()`` strings (UTC, milliseconds), as a JS ``Date``
is; ``currency`` is normalised the way saveBills does (``€`` → ``EUR``, ``$`` → ``USD``, ``£`` → ``GBP``,
missing → ``EUR``, others kept).

Fields that only steer the saving (``fetch_file``, ``content``, ``file_attributes``, ``sub_path``,
``should_replace_*``, ``contract``, ``qualification_label``) are excluded from :meth:`FileEntry.doc`,
so they never land in a bill document; ``filename`` and ``fileurl`` do, as in the JS library.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.alias_generators import to_camel

from browserkonnector.save._fetched import FetchFile
from browserkonnector.save._qualification import qualification_for
from browserkonnector.save._util import get_path, iso, safe_name
from browserkonnector.store._base import FileDoc

__all__ = [
    "Bill",
    "BillValidationError",
    "Contract",
    "FileEntry",
    "ShouldReplaceFile",
    "as_bill",
    "as_file_entry",
    "normalize_currency",
]

#: ``should_replace_file(existing_file, entry) -> bool`` (sync or async); True re-downloads the file.
ShouldReplaceFile = Callable[[FileDoc, Any], "bool | Awaitable[bool]"]

_CONFIG = ConfigDict(
    extra="allow",
    alias_generator=to_camel,
    validate_by_name=True,
    validate_by_alias=True,
    serialize_by_alias=True,
    arbitrary_types_allowed=True,
)


class BillValidationError(ValueError):
    """One or more bills are invalid; raised before any file is downloaded. ``problems`` lists them."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


class Contract(BaseModel):
    """A vendor contract: bills of one contract go to a sub-folder named after it (``name``)."""

    model_config = ConfigDict(extra="allow")
    id: str | None = None
    name: str | None = None


class FileEntry(BaseModel):
    """One file to save (JS ``saveFiles`` entry). Give the bytes one way:

    - ``content``: bytes, a str, an async iterable of bytes or a binary file object (JS ``filestream``);
    - ``fetch_file``: a zero-arg coroutine returning a :class:`~browserkonnector.save._fetched.Fetched`,
      called **only** when the file must be downloaded (the browser layer passes one that downloads
      through the logged-in session);
    - ``fileurl``: fetched with ``save_files(fetch=...)`` (default: a plain HTTP GET).
    """

    model_config = _CONFIG

    filename: str | None = None
    fileurl: str | None = None
    fetch_file: FetchFile | None = Field(default=None, exclude=True)
    content: Any = Field(default=None, exclude=True, validation_alias=AliasChoices("content", "filestream"))
    file_attributes: dict[str, Any] = Field(default_factory=dict, exclude=True)
    should_replace_name: str | None = Field(default=None, exclude=True)
    should_replace_file: ShouldReplaceFile | None = Field(default=None, exclude=True)
    sub_path: str | None = Field(default=None, exclude=True)
    contract: Contract | None = Field(default=None, exclude=True)
    qualification_label: str | None = Field(default=None, exclude=True)

    @field_validator("content", mode="before")
    @classmethod
    def _content(cls, value: Any) -> Any:
        if value is None or isinstance(value, bytes):
            return value
        if isinstance(value, bytearray | memoryview):
            return bytes(value)
        if isinstance(value, str):
            return value.encode("utf-8")
        if hasattr(value, "__aiter__") or callable(getattr(value, "read", None)):
            return value
        raise ValueError("content must be bytes, str, an async iterable of bytes or a binary file object")

    @model_validator(mode="after")
    def _qualify(self) -> FileEntry:
        if self.qualification_label:
            metadata = dict(self.file_attributes.get("metadata") or {})
            metadata["qualification"] = qualification_for(self.qualification_label)
            self.file_attributes = {**self.file_attributes, "metadata": metadata}
        return self

    @property
    def has_source(self) -> bool:
        """Whether there is any way to get the bytes (JS: entries without one are returned untouched)."""
        return self.content is not None or self.fetch_file is not None or bool(self.fileurl)

    def doc(self) -> dict[str, Any]:
        """The entry as a document: camelCase names, ``None``\\ s dropped, saving-only fields left out."""
        return self.model_dump(by_alias=True, exclude_none=True)

    def lookup(self, path: str) -> Any:
        """Value at a lodash path (for ``fileIdAttributes``), by camelCase name or by Python name."""
        view = self.doc()
        value = get_path(view, path)
        if value is None and "_" in path:
            value = get_path(view, ".".join(to_camel(p) for p in path.split(".")))
        return value

    def describe(self) -> str:
        """A short, secret-free name for logs: the filename, else the URL without its query."""
        if self.filename:
            return repr(self.filename)
        if self.fileurl:
            return repr(self.fileurl.split("?", 1)[0])
        return "an entry without filename"


def normalize_currency(value: Any) -> str:
    """saveBills' ``convertCurrency``: a symbol anywhere in the string decides; missing → ``EUR``."""
    if not value:
        return "EUR"
    text = str(value)
    for symbol, code in (("€", "EUR"), ("$", "USD"), ("£", "GBP")):
        if symbol in text:
            return code
    return text


def _number(value: Any) -> float | int:
    """A finite number, or ValueError: bools and NaN are refused, numeric strings are converted."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is a boolean, not a number")
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise ValueError(f"{safe_name(value)!r} is not a number") from None
    if not isinstance(value, int | float):
        raise ValueError(f"{type(value).__name__} {safe_name(value)!r} is not a number")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{value!r} is not a finite number")
    return value


class Bill(FileEntry):
    """An ``io.cozy.bills`` document plus the file it comes with (see :class:`FileEntry`)."""

    vendor: str
    date: str
    amount: float
    currency: str = "EUR"
    vendor_ref: str | None = None
    type: str | None = None
    subtype: str | None = None
    is_refund: bool | None = None
    is_third_party_payer: bool | None = None
    original_date: str | None = None
    original_amount: float | None = None
    group_amount: float | None = None
    third_party_refund: float | None = None
    social_security_refund: float | None = None
    contract_id: str | None = None
    contract_label: str | None = None
    matching_criterias: dict[str, Any] | None = None
    invoice: str | None = None

    @field_validator("vendor", mode="before")
    @classmethod
    def _vendor(cls, value: Any) -> str:
        if not isinstance(value, str):
            raise ValueError(f"vendor must be a string, got {type(value).__name__}")
        if not value.strip():
            raise ValueError("vendor is empty")
        return value

    @field_validator("date", "original_date", mode="before")
    @classmethod
    def _date(cls, value: Any) -> str | None:
        return None if value is None else iso(value)

    @field_validator(
        "amount", "original_amount", "group_amount", "third_party_refund", "social_security_refund", mode="before"
    )
    @classmethod
    def _amount(cls, value: Any) -> float | int | None:
        return None if value is None else _number(value)

    @field_validator("currency", mode="before")
    @classmethod
    def _currency(cls, value: Any) -> str:
        return normalize_currency(value)


def as_file_entry(obj: FileEntry | Mapping[str, Any]) -> FileEntry:
    """A :class:`FileEntry` from a model (returned as is) or a JS-style dict."""
    if isinstance(obj, FileEntry):
        return obj
    if isinstance(obj, Mapping):
        return FileEntry.model_validate(dict(obj))
    raise TypeError(f"an entry must be a FileEntry or a dict, got {type(obj).__name__}")


def _describe_raw(obj: Any, index: int) -> str:
    parts = [f"bill #{index}"]
    for name in ("vendor", "date", "vendorRef", "vendor_ref", "filename"):
        value = get_path(obj, name)
        if value is not None and not callable(value):
            parts.append(f"{name}={safe_name(value, 40)!r}")
    return parts[0] + (f" ({', '.join(parts[1:])})" if len(parts) > 1 else "")


def as_bill(obj: Bill | FileEntry | Mapping[str, Any], index: int = 0) -> Bill:
    """A validated :class:`Bill`, or :class:`BillValidationError` naming the bill and the attribute."""
    if isinstance(obj, Bill):
        return obj
    raw: Any = obj
    if isinstance(obj, FileEntry):  # keep the saving-only fields, which model_dump leaves out
        raw = {name: getattr(obj, name) for name in type(obj).model_fields} | dict(obj.model_extra or {})
    if not isinstance(raw, Mapping):
        raise BillValidationError([f"saveBills: bill #{index} is a {type(obj).__name__}, not a dict or a Bill"])
    try:
        return Bill.model_validate(dict(raw))
    except ValidationError as exc:
        who = _describe_raw(raw, index)
        problems = []
        for err in exc.errors():
            attr = to_camel(str(err["loc"][0])) if err["loc"] else "?"
            if err["type"] == "missing":
                problems.append(f"saveBills: {who} is missing the required {attr} attribute")
            else:
                msg = str(err["msg"]).removeprefix("Value error, ")
                problems.append(f"saveBills: {who} has an invalid {attr}: {msg}")
        raise BillValidationError(problems) from None
