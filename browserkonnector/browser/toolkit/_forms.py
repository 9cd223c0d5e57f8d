"""Log in through a form: fill it, submit it, judge the outcome, map it to the contract's error codes.

What a form login needs that a bare click does not:

- **scope**: a page may carry several buttons labelled "Log in" (a header form that only leads to the
  login page, a newsletter box...). The fields and the submit button are looked up *inside* the form
  that holds the password field (or the ``form=`` given), so the header's button is never clicked. A
  password field outside any ``<form>`` (many single-page apps) scopes to the page, and without a
  ``submit=`` the form is sent by pressing Enter in the last field;
- **secrets**: a value given as a pydantic ``SecretStr``, or typed into a ``type=password`` field, goes
  through :func:`~browserkonnector.browser._secrets.fill_secret` (registered with the run's redactor,
  never in a log line or a trace);
- **the outcome** (:func:`~browserkonnector.browser.toolkit._waits.act_and_wait`): success is the page reaching
  ``success_url`` or showing a new ``success_element``, or the login ``api`` answering 2xx/3xx; failure
  is a new ``alert`` (→ ``LOGIN_FAILED``, with the site's message) or the ``api`` answering 4xx
  (→ ``LOGIN_FAILED``); a 5xx or 429 (of the ``api`` or of the page itself) is retried ``retries``
  times with a growing pause, then ends as ``VENDOR_DOWN``; a form or field that is not there ends as
  ``UNKNOWN_ERROR.SITE_CHANGED``. Each attempt waits at most ``timeout``
  seconds; nothing recognisable in that time raises :class:`~browserkonnector.browser.toolkit._waits.NothingHappened`
  naming what was awaited (usually a selector that no longer fits the site).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from loguru import logger
from playwright.async_api import Locator, Page
from playwright.async_api import TimeoutError as PlaywrightTimeoutError

from browserkonnector import _errors as errors
from browserkonnector._errors import KonnectorError
from browserkonnector._redact import Redactor
from browserkonnector._request import parse_retry_after
from browserkonnector.browser._scrub_rules import mask_url_query
from browserkonnector.browser._secrets import fill_secret
from browserkonnector.browser.toolkit._capture import UrlPattern
from browserkonnector.browser.toolkit._waits import NothingHappened, Waited, act_and_wait

__all__ = ["form_login"]

log = logger.bind(namespace="form_login")
#: Pause before retry n (seconds): 1, 2, 4...
BACKOFF_S = 1.0
PASSWORD_FORM = "form:has(input[type=password])"
SUBMIT = "button[type=submit], input[type=submit], button:not([type])"
#: After a 429 of the login api: how many of the page's own retries to wait for, and how long each.
PAGE_RETRIES = 3
MAX_PAGE_RETRY_WAIT_S = 10.0
PAGE_RETRY_GRACE_S = 5.0


async def _nothing() -> None:
    """The action of a wait for what the page does by itself."""


async def _after_rate_limit(page: Page, waited: Waited, outcomes: dict[str, Any]) -> Waited:
    """The login ``api`` answered 429: many single-page apps retry that themselves after its
    ``Retry-After`` (and never read the 429's body). Wait for the outcome of the page's own retry (a few
    times, each bounded) before submitting again: a second submission would find the form gone once the
    page's retry logged in."""
    for _ in range(PAGE_RETRIES):
        response = waited.response
        if waited.kind != "response" or response is None or response.status != 429:
            break
        pause = min(parse_retry_after(response.headers.get("retry-after")) or 1.0, MAX_PAGE_RETRY_WAIT_S)
        try:
            waited = await act_and_wait(page, _nothing, timeout=pause + PAGE_RETRY_GRACE_S, **outcomes)
        except NothingHappened:
            break  # the page does not retry: submitting again is the only way
    return waited


async def _scope(page: Page, form: str | Locator | None) -> Locator | Page:
    if form is not None:
        scope = page.locator(form) if isinstance(form, str) else form
        if await scope.count() != 1:
            raise KonnectorError(
                errors.SITE_CHANGED, f"form_login: {await scope.count()} elements match the form {form!r}, expected 1"
            )
        return scope
    forms = page.locator(PASSWORD_FORM)
    return forms if await forms.count() == 1 else page


def _candidates(scope: Locator | Page, name: str) -> tuple[Locator, Locator, Locator]:
    """Where the field called ``name`` may be: its ``name`` attribute, else its ``id``, else its label."""
    return scope.locator(f'[name="{name}"]'), scope.locator(f'[id="{name}"]'), scope.get_by_label(name, exact=True)


async def _rendered(page: Page, values: Mapping[str, Any], timeout: float) -> None:
    """Wait, within ``timeout`` seconds, for the form's first field: a form its script draws is not in
    the page right after a navigation (an attempt's reload), and judging it missing then would report a
    slow page as a changed site."""
    if not values:
        return
    first = next(iter(values))
    by_name, by_id, by_label = _candidates(page, first)
    try:
        await by_name.or_(by_id).or_(by_label).first.wait_for(state="attached", timeout=timeout * 1000)
    except PlaywrightTimeoutError:
        raise KonnectorError(
            errors.SITE_CHANGED, f"form_login: no field named, with id or labelled {first!r} after {timeout:g} s"
        ) from None


async def _field(scope: Locator | Page, name: str) -> Locator:
    """The field called ``name``: by its ``name`` attribute, else its ``id``, else its label."""
    for candidate in _candidates(scope, name):
        count = await candidate.count()
        if count == 1:
            return candidate
        if count > 1:
            raise KonnectorError(errors.SITE_CHANGED, f"form_login: {count} fields match {name!r} in the form")
    raise KonnectorError(errors.SITE_CHANGED, f"form_login: no field named, with id or labelled {name!r}")


async def _fill(scope: Locator | Page, values: Mapping[str, Any], redactor: Redactor) -> Locator:
    last: Locator | None = None
    for name, value in values.items():
        field = await _field(scope, name)
        secret = hasattr(value, "get_secret_value")
        raw = value.get_secret_value() if secret else str(value)
        if secret or await field.get_attribute("type") == "password":
            await fill_secret(field, raw, redactor=redactor, label=name)
        else:
            await field.fill(raw)
        last = field
    if last is None:
        raise ValueError(
            "form_login: values is empty: give the fields to fill, e.g. {'username': ..., 'password': SecretStr(...)}"
        )
    return last


def _press_enter(field: Locator) -> Any:
    async def press() -> None:
        await field.press("Enter")

    return press


async def form_login(
    page: Page,
    values: Mapping[str, Any],
    *,
    redactor: Redactor,
    url: str | None = None,
    form: str | Locator | None = None,
    submit: str | Locator | None = None,
    success_url: UrlPattern | None = None,
    success_element: str | Locator | None = None,
    alert: str | Locator | None = None,
    api: UrlPattern | None = None,
    unavailable: str | Locator | None = None,
    timeout: float = 30.0,
    retries: int = 2,
) -> Waited:
    """Fill ``values`` (field name, id or label → value) in the login form, submit it, and return the
    successful outcome; raise ``KonnectorError(LOGIN_FAILED)`` or ``(VENDOR_DOWN)`` otherwise.

    ``url``: the login page, loaded before each attempt (without it, the page as it is; a retry then
    goes back to the URL the first attempt started from). Give at least one of ``success_url``,
    ``success_element`` or ``api``; ``alert`` is the site's refusal message (recommended);
    ``unavailable`` its "try again later" message (retried like a 5xx: the site did not judge the
    credentials, so it is no refusal). Each attempt first waits (within ``timeout``) for the first field
    to be in the page, so a form its script draws late is filled, not reported as a changed site.
    """
    if success_url is None and success_element is None and api is None:
        raise ValueError("form_login: give success_url=, success_element= or api= (how a good login shows)")
    if retries < 0:
        raise ValueError(f"form_login: retries must be >= 0, got {retries!r}")
    start = url or page.url
    last = "no answer"
    for attempt in range(retries + 1):
        if attempt:
            await asyncio.sleep(BACKOFF_S * 2 ** (attempt - 1))
        if url is not None or attempt:
            await page.goto(start)
        await _rendered(page, values, timeout)
        scope = await _scope(page, form)
        last_field = await _fill(scope, values, redactor)
        if submit is not None:
            button = scope.locator(submit) if isinstance(submit, str) else submit
            action: Any = button
        elif isinstance(scope, Locator):
            action = scope.locator(SUBMIT).first
        else:
            action = _press_enter(last_field)  # no form: Enter in the last field sends it, as a person would
        outcomes: dict[str, Any] = {
            "response": api,
            "url": success_url,
            "element": success_element,
            "alert": alert,
            "unavailable": unavailable,
        }
        waited = await act_and_wait(page, action, timeout=timeout, **outcomes)
        waited = await _after_rate_limit(page, waited, outcomes)
        status = waited.response.status if waited.response is not None else 0
        if waited.kind in ("url", "element") or (waited.kind == "response" and status < 400):
            return waited
        if waited.kind == "alert":
            raise KonnectorError(errors.LOGIN_FAILED, f"the site says: {waited.text[:200]}" if waited.text else None)
        if waited.kind == "response" and status < 500 and status != 429:
            raise KonnectorError(errors.LOGIN_FAILED, f"the login answer was {status}")
        where = mask_url_query(waited.response.url) if waited.response is not None else waited.url
        last = f"{status} from {where}" if waited.kind != "unavailable" else f"'{waited.text[:100]}' on {where}"
        log.warning("login attempt {}/{}: the site answered {}", attempt + 1, retries + 1, last)
    raise KonnectorError(errors.VENDOR_DOWN, f"login failed {retries + 1} time(s), last: {last}")
