"""add_data and update_or_create on a real LocalStore."""

from __future__ import annotations

from typing import Any

import pytest

from browserkonnector.save import add_data, update_or_create
from browserkonnector.store._base import AppInfo
from browserkonnector.store._errors import Conflict

pytestmark = pytest.mark.anyio
DOCTYPE = "io.cozy.identities"


async def test_add_data_creates_with_cozy_metadata_and_gives_ids_back(store: Any, app: AppInfo) -> None:
    entries = [{"name": "toto", "height": 1.8}, {"name": "titi", "height": 1.7}]
    docs = await add_data(
        entries, DOCTYPE, store=store, app=app, source_account="acc1", source_account_identifier="me@example.com"
    )
    assert [d["name"] for d in docs] == ["toto", "titi"]
    assert entries[0]["_id"] == docs[0]["_id"], "the caller's dict gets its _id (a JS quirk, fixed)"
    stored = await store.get(DOCTYPE, docs[0]["_id"])
    meta = stored["cozyMetadata"]
    assert meta["createdByApp"] == "demo-vendor"
    assert meta["createdByAppVersion"] == "1.2.3"
    assert meta["sourceAccount"] == "acc1"
    assert meta["sourceAccountIdentifier"] == "me@example.com"
    assert meta["createdAt"] == meta["updatedAt"]


async def test_add_data_update_keeps_created_at_refreshes_updated_at(store: Any, app: AppInfo) -> None:
    [doc] = await add_data([{"name": "toto"}], DOCTYPE, store=store, app=app)
    created = doc["cozyMetadata"]["createdAt"]
    doc["cozyMetadata"]["createdAt"] = "2000-01-01T00:00:00.000Z"
    doc["cozyMetadata"]["updatedAt"] = "2000-01-01T00:00:00.000Z"
    [again] = await add_data([{**doc, "name": "toto 2"}], DOCTYPE, store=store, app=AppInfo("other", "9"))
    meta = (await store.get(DOCTYPE, again["_id"]))["cozyMetadata"]
    assert meta["createdAt"] == "2000-01-01T00:00:00.000Z" != created
    assert meta["updatedAt"] != "2000-01-01T00:00:00.000Z"
    assert [a["slug"] for a in meta["updatedByApps"]] == ["demo-vendor", "other"]


async def test_add_data_with_stale_rev_is_a_conflict(store: Any, app: AppInfo) -> None:
    [doc] = await add_data([{"name": "toto"}], DOCTYPE, store=store, app=app)
    await add_data([dict(doc)], DOCTYPE, store=store, app=app)
    with pytest.raises(Conflict, match="refused"):
        await add_data([{**doc, "_rev": doc["_rev"]}], DOCTYPE, store=store, app=app)


async def test_add_data_drops_callables_and_private_fields(store: Any, app: AppInfo) -> None:
    [doc] = await add_data(
        [{"name": "a", "shouldSave": lambda e: True, "_type": DOCTYPE}], DOCTYPE, store=store, app=app
    )
    stored = await store.get(DOCTYPE, doc["_id"])
    assert "shouldSave" not in stored
    assert stored["name"] == "a"


async def test_update_or_create(store: Any, app: AppInfo) -> None:
    first = await update_or_create(
        [{"identifier": "me", "contact": {"name": "A"}}], DOCTYPE, ["identifier"], store=store, app=app
    )
    second = await update_or_create(
        [{"identifier": "me", "contact": {"name": "B"}, "extra": 1}, {"identifier": "you", "contact": {"name": "C"}}],
        DOCTYPE,
        ["identifier"],
        store=store,
        app=app,
    )
    assert second[0]["_id"] == first[0]["_id"]
    assert second[0]["contact"] == {"name": "B"}
    assert second[0]["cozyMetadata"]["createdAt"] == first[0]["cozyMetadata"]["createdAt"]
    assert second[1]["_id"] != first[0]["_id"]
    assert len([d async for d in store.all_docs(DOCTYPE)]) == 2


async def test_update_or_create_same_new_key_twice_creates_one(store: Any, app: AppInfo) -> None:
    docs = await update_or_create([{"k": 1, "v": "a"}, {"k": 1, "v": "b"}], DOCTYPE, ["k"], store=store, app=app)
    assert docs[0]["_id"] == docs[1]["_id"]
    assert [d["v"] async for d in store.all_docs(DOCTYPE)] == ["b"]


async def test_update_or_create_needs_matching_attributes(store: Any, app: AppInfo) -> None:
    """The JS quirk: ``[]`` matched the first document of the doctype. Here it is an error."""
    with pytest.raises(ValueError, match="matching_attributes is empty"):
        await update_or_create([{"a": 1}], DOCTYPE, [], store=store, app=app)


async def test_update_or_create_matches_on_several_and_dotted_attributes(store: Any, app: AppInfo) -> None:
    await store.create(DOCTYPE, {"identifier": "me", "cozyMetadata": {"createdByApp": "demo-vendor"}, "n": 1})
    await store.create(DOCTYPE, {"identifier": "me", "cozyMetadata": {"createdByApp": "someone-else"}, "n": 2})
    [doc] = await update_or_create(
        [{"identifier": "me", "cozyMetadata": {"createdByApp": "demo-vendor"}, "n": 3}],
        DOCTYPE,
        ["identifier", "cozyMetadata.createdByApp"],
        store=store,
        app=app,
    )
    ns = sorted([d["n"] async for d in store.all_docs(DOCTYPE)])
    assert ns == [2, 3]
    assert doc["n"] == 3


async def test_update_or_create_leaves_an_unchanged_document_alone(store: Any, app: AppInfo) -> None:
    """Saving the same entry again must not write: same ``_rev``, same ``updatedAt`` (it rewrote every
    matched document, bumping both, on every run)."""
    [first] = await update_or_create(
        [{"vendorId": "a1", "balance": 10, "label": "Main"}], DOCTYPE, ["vendorId"], store=store, app=app
    )
    [again] = await update_or_create(
        [{"vendorId": "a1", "balance": 10.0, "label": "Main"}], DOCTYPE, ["vendorId"], store=store, app=app
    )
    assert again["_rev"] == first["_rev"]
    assert again["cozyMetadata"]["updatedAt"] == first["cozyMetadata"]["updatedAt"]
    [changed] = await update_or_create(
        [{"vendorId": "a1", "balance": 11, "label": "Main"}], DOCTYPE, ["vendorId"], store=store, app=app
    )
    assert changed["_rev"] != first["_rev"]
    assert changed["balance"] == 11
