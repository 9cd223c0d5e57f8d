"""CozyStackStore's own pieces: credentials, configuration, error mapping, secrets kept out of messages
and logs. The parts that need a server run against the stack emulator (names end in ``_emulator``)."""

from __future__ import annotations

import json

import pytest
from loguru import logger

from browserkonnector.store._base import ROOT_DIR_ID
from browserkonnector.store._cozy import CozyStackStore
from browserkonnector.store._errors import BadRequest, Conflict, InvalidName, NoIndex, NotFound, PreconditionFailed
from browserkonnector.store._jsonapi import error_info
from browserkonnector.store._stack_http import StackCredentials
from browserkonnector.testing._emulator import StackEmulator

DEV_MODE = json.dumps(
    {
        "oauthOptions": {"clientID": "cid-123", "clientSecret": "csecret-456", "registrationAccessToken": "r"},
        "token": {"accessToken": "access-789", "refreshToken": "refresh-000", "tokenType": "bearer"},
    }
)


def test_credentials_bearer_string() -> None:
    creds = StackCredentials.parse("  eyJhbGciOi.konnector.token \n")
    assert creds.access_token == "eyJhbGciOi.konnector.token"
    assert not creds.can_refresh


def test_credentials_dev_mode_oauth_json() -> None:
    creds = StackCredentials.parse(DEV_MODE)
    assert (creds.access_token, creds.refresh_token, creds.client_id, creds.client_secret) == (
        "access-789",
        "refresh-000",
        "cid-123",
        "csecret-456",
    )
    assert creds.can_refresh
    assert "access-789" not in repr(creds)
    assert "csecret-456" not in repr(creds)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "COZY_CREDENTIALS is empty"),
        ("{not json", "does not parse"),
        ('{"token": {}}', "no token.accessToken"),
    ],
)
def test_bad_credentials_name_the_variable(raw: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        StackCredentials.parse(raw)


def test_from_env_and_describe_never_show_the_token() -> None:
    store = CozyStackStore.from_env({"COZY_URL": "https://alice.mycozy.cloud/", "COZY_CREDENTIALS": DEV_MODE})
    assert store.describe() == "Cozy(https://alice.mycozy.cloud)"
    assert "access-789" not in store.describe() + repr(store)
    with pytest.raises(ValueError, match="COZY_URL is not set"):
        CozyStackStore.from_env({"COZY_CREDENTIALS": "t"})
    with pytest.raises(ValueError, match="COZY_CREDENTIALS is not set"):
        CozyStackStore.from_env({"COZY_URL": "https://x.example"})
    with pytest.raises(ValueError, match="COZY_URL must be an http"):
        CozyStackStore("alice.mycozy.cloud", "t")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            {"ok": False, "status": "409", "error": "conflict", "reason": "Document update conflict."},
            ("conflict: Document update conflict.", "conflict"),
        ),
        ({"status": "404", "error": "not_found", "reason": "deleted"}, ("not_found: deleted", "deleted")),
        (
            {"error": "no_index", "reason": "no matching index found, create an index"},
            ("no_index: no matching index found, create an index", "no_index"),
        ),
        (
            {"errors": [{"status": "412", "title": "Precondition Failed", "detail": "Invalid hash"}]},
            ("Invalid hash", "precondition_failed"),
        ),
        (
            {
                "errors": [
                    {"status": "422", "title": "Invalid Parameter", "detail": "bad", "source": {"parameter": "name"}}
                ]
            },
            ("bad", "invalid_name"),
        ),
        (
            {"errors": [{"status": "400", "title": "Bad Request", "detail": "no_usable_index: sort"}]},
            ("no_usable_index: sort", "no_usable_index"),
        ),
        ({"error": "Cannot create a document with _id"}, ("Cannot create a document with _id", None)),
        ("not a mapping", ("", None)),
    ],
)
def test_error_bodies_of_every_shape(body: object, expected: tuple[str, str | None]) -> None:
    assert error_info(body) == expected


@pytest.mark.anyio
async def test_errors_are_typed_emulator(emulator: StackEmulator, cozy: CozyStackStore) -> None:
    with pytest.raises(NotFound) as no_db:
        await cozy.get("io.cozy.bills", "nope")
    assert no_db.value.reason == "wrong_doctype"  # no document of that doctype yet: no database
    doc = await cozy.create("io.cozy.bills", {"n": 1})
    with pytest.raises(NotFound) as missing:
        await cozy.get("io.cozy.bills", "nope")
    assert missing.value.reason == "missing"
    await cozy.delete("io.cozy.bills", doc["_id"], doc["_rev"])
    with pytest.raises(NotFound) as deleted:
        await cozy.get("io.cozy.bills", doc["_id"])
    assert deleted.value.reason == "deleted"
    await cozy.create("io.cozy.bills", {"_id": "fixed"})
    with pytest.raises(Conflict):
        await cozy.create("io.cozy.bills", {"_id": "fixed"})
    with pytest.raises(BadRequest, match="use update"):
        await cozy.create("io.cozy.bills", {"_rev": "1-x"})
    with pytest.raises(InvalidName):
        await cozy.mkdir(ROOT_DIR_ID, "..")
    with pytest.raises(PreconditionFailed):
        await cozy.upload(ROOT_DIR_ID, "x.pdf", b"abc", md5="AAAAAAAAAAAAAAAAAAAAAA==")
    emulator.fail_next(
        "/data/io.cozy.bills/_index", 400, times=1, body={"error": "bad_request", "reason": "invalid index"}
    )
    with pytest.raises(BadRequest, match="_index") as info:  # the missing index could not be created
        await cozy.find("io.cozy.bills", {"zz": 1})
    assert not isinstance(info.value, NoIndex)
    emulator.fail_next("/data/io.cozy.bills/_find", 400, times=2, body={"error": "no_index", "reason": "still"})
    with pytest.raises(NoIndex):  # created, retried once, still refused: no endless loop
        await cozy.find("io.cozy.bills", {"yy": 1})


@pytest.mark.anyio
async def test_missing_doctype_reads_as_empty_emulator(cozy: CozyStackStore) -> None:
    assert await cozy.get_many("io.cozy.never", ["a", "b"]) == [None, None]
    assert [d async for d in cozy.all_docs("io.cozy.never")] == []
    assert (await cozy.find("io.cozy.never", {"a": 1})).docs == []
    assert await cozy.referenced_files("io.cozy.never", "x") == []


@pytest.mark.anyio
async def test_no_secret_in_logs_or_errors_emulator(emulator: StackEmulator) -> None:
    lines: list[str] = []
    sink = logger.add(lines.append, level="DEBUG", format="{message}")
    try:
        async with CozyStackStore(emulator.url, emulator.oauth_credentials()) as store:
            await store.create("io.cozy.bills", {"n": 1})
            emulator.expire_token()
            await store.create("io.cozy.bills", {"n": 2})  # refreshed: a new secret token is now in use
            emulator.expire_token()
            emulator.refresh_token = "rotated-away"  # the refresh will be refused
            with pytest.raises(Exception) as info:  # noqa: PT011 - any error; its text is checked below
                await store.get("io.cozy.bills", "x")
            secrets = [
                emulator.token,
                emulator.client_secret,
                store.http.credentials.refresh_token or "",
                store.http.credentials.access_token,
            ]
    finally:
        logger.remove(sink)
    text = "\n".join(lines) + str(info.value) + repr(info.value)
    assert lines  # the client did log its requests
    for secret in secrets:
        assert secret not in text
