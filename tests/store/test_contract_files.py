"""Contract: the files tree (``/files``) — folders, upload/overwrite, stat, rename/move, trash, destroy,
download, references, ``find_files``, names, md5/size/mime/class, quota. Only the ``Store`` protocol."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from browserkonnector.store._base import ROOT_DIR_ID, TRASH_DIR_ID, FileDoc, Reference, Store, md5_base64
from browserkonnector.store._errors import Conflict, InvalidName, NotFound, PreconditionFailed

pytestmark = pytest.mark.anyio

PDF = b"%PDF-1.4\n" + b"bill content " * 100 + b"\n%%EOF\n"


async def _names(store: Store, dir_id: str) -> list[str]:
    return sorted([f.name async for f in store.list_dir(dir_id)])


async def test_root_and_trash_exist(store: Store) -> None:
    root = await store.stat(ROOT_DIR_ID)
    assert root.is_dir
    assert root.path == "/"
    assert (await store.stat_path("/")).id == ROOT_DIR_ID
    trash = await store.stat(TRASH_DIR_ID)
    assert trash.path == "/.cozy_trash"


async def test_mkdir_mkdir_p_and_stat(store: Store) -> None:
    admin = await store.mkdir(ROOT_DIR_ID, "Administratif")
    assert admin.is_dir
    assert admin.path == "/Administratif"
    assert admin.dir_id == ROOT_DIR_ID
    with pytest.raises(Conflict):
        await store.mkdir(ROOT_DIR_ID, "Administratif")
    deep = await store.mkdir_p("/Administratif/Demo Énergie/2024")
    assert deep.path == "/Administratif/Demo Énergie/2024"
    assert (await store.mkdir_p("/Administratif/Demo Énergie/2024")).id == deep.id  # idempotent
    mid = await store.stat_path("/Administratif/Demo Énergie")
    assert deep.dir_id == mid.id
    assert mid.dir_id == admin.id
    assert (await store.stat(deep.id)).path == deep.path
    assert await _names(store, admin.id) == ["Demo Énergie"]
    with pytest.raises(NotFound):
        await store.stat_path("/Administratif/nope")
    with pytest.raises(NotFound):
        await store.stat("no-such-id")
    with pytest.raises(NotFound):
        await store.mkdir("no-such-id", "x")


async def test_upload_sets_size_md5_mime_class_metadata(store: Store) -> None:
    folder = await store.mkdir_p("/Administratif/EDF")
    f = await store.upload(
        folder.id,
        "2024-01_edf.pdf",
        PDF,
        metadata={"fileIdAttributes": "2024-01", "qualification": {"label": "energy_invoice"}},
        source_account="acc-1",
        source_account_identifier="alice",
        md5=md5_base64(PDF),
    )
    assert f.type == "file"
    assert f.dir_id == folder.id
    assert f.name == "2024-01_edf.pdf"
    assert f.size == len(PDF)
    assert isinstance(f.size, int)
    assert f.md5sum == base64.b64encode(hashlib.md5(PDF).digest()).decode()
    assert f.mime == "application/pdf"
    assert f.cls == "pdf"
    assert not f.trashed
    assert f.metadata["fileIdAttributes"] == "2024-01"
    cm = f.cozy_metadata
    assert cm["createdByApp"] == "contract-tests"
    assert cm["createdByAppVersion"] == "1.2.3"
    assert cm["sourceAccount"] == "acc-1"
    assert cm["sourceAccountIdentifier"] == "alice"
    assert cm["uploadedBy"]["slug"] == "contract-tests"
    assert cm["metadataVersion"] == 1
    assert cm["uploadedAt"]
    assert cm["createdAt"]
    assert cm["updatedAt"]
    assert (await store.stat_path("/Administratif/EDF/2024-01_edf.pdf")).id == f.id
    assert await store.download(f.id) == PDF
    chunks = [c async for c in store.iter_download(f.id, chunk_size=100)]
    assert b"".join(chunks) == PDF
    assert len(chunks) > 1


async def test_upload_of_other_types(store: Store) -> None:
    f = await store.upload(ROOT_DIR_ID, "notes.txt", b"hello")
    assert (f.mime, f.cls) == ("text/plain", "text")
    g = await store.upload(ROOT_DIR_ID, "photo.JPG", b"\xff\xd8", mime="application/octet-stream")
    assert g.mime == "image/jpeg"
    assert g.cls == "image"
    h = await store.upload(ROOT_DIR_ID, "data", b"{}", mime="application/json")
    assert h.mime == "application/json"
    empty = await store.upload(ROOT_DIR_ID, "empty.bin", b"")
    assert empty.size == 0
    assert await store.download(empty.id) == b""


async def test_upload_streams_from_a_path_and_from_chunks(store: Store, tmp_path: Path) -> None:
    source = tmp_path / "big.bin"
    source.write_bytes(b"x" * 300_000)
    f = await store.upload(ROOT_DIR_ID, "big.bin", source)
    assert f.size == 300_000
    assert f.md5sum == md5_base64(source.read_bytes())

    async def chunks() -> AsyncIterator[bytes]:
        for i in range(5):
            yield bytes([65 + i]) * 1000

    g = await store.upload(ROOT_DIR_ID, "chunks.bin", chunks())
    assert g.size == 5000
    assert await store.download(g.id) == b"A" * 1000 + b"B" * 1000 + b"C" * 1000 + b"D" * 1000 + b"E" * 1000


async def test_name_taken_in_folder_is_a_conflict(store: Store) -> None:
    f = await store.upload(ROOT_DIR_ID, "bill.pdf", PDF)
    with pytest.raises(Conflict):
        await store.upload(ROOT_DIR_ID, "bill.pdf", b"other")
    with pytest.raises(Conflict):
        await store.mkdir(ROOT_DIR_ID, "bill.pdf")  # files and folders share the names
    assert await store.download(f.id) == PDF
    other = await store.mkdir(ROOT_DIR_ID, "other")
    assert (await store.upload(other.id, "bill.pdf", b"same name, other folder")).dir_id == other.id


@pytest.mark.parametrize(
    "name", ["", ".", "..", "a/b", "../x", "/abs", "nul\x00byte", "new\nline", "cr\rhere", "tab\there", "bell\x07"]
)
async def test_invalid_names_are_refused(store: Store, name: str) -> None:
    with pytest.raises(InvalidName):
        await store.upload(ROOT_DIR_ID, name, b"x")
    with pytest.raises(InvalidName):
        await store.mkdir(ROOT_DIR_ID, name)


async def test_paths_never_climb_out(store: Store) -> None:
    # The stack cleans such a path (``/a/../../etc`` is ``/etc``); LocalStore refuses it (see
    # test_local_names.py). Either way the folder stays inside the tree.
    try:
        made = await store.mkdir_p("/a/../../etc")
    except InvalidName:
        pass
    else:
        assert made.path is not None
        assert made.path.startswith("/")
        assert ".." not in made.path.split("/")
        assert (await store.stat(made.id)).path == made.path
    with pytest.raises((InvalidName, NotFound)):
        await store.stat_path("/../etc/passwd")


async def test_md5_mismatch_is_a_precondition_failure_and_leaves_nothing(store: Store) -> None:
    with pytest.raises(PreconditionFailed):
        await store.upload(ROOT_DIR_ID, "bad.pdf", PDF, md5=md5_base64(b"something else"))
    with pytest.raises(NotFound):
        await store.stat_path("/bad.pdf")
    assert (await store.upload(ROOT_DIR_ID, "bad.pdf", PDF)).size == len(PDF)  # the name is free


async def test_upload_into_missing_or_trashed_folder(store: Store) -> None:
    with pytest.raises(NotFound):
        await store.upload("no-such-folder", "x.pdf", PDF)
    folder = await store.mkdir(ROOT_DIR_ID, "old")
    await store.trash(folder.id)
    with pytest.raises(NotFound):
        await store.upload(folder.id, "x.pdf", PDF)


async def test_overwrite_keeps_identity_and_changes_content(store: Store) -> None:
    folder = await store.mkdir(ROOT_DIR_ID, "docs")
    f = await store.upload(folder.id, "bill.pdf", PDF, metadata={"a": 1}, source_account="acc")
    await store.add_referenced_by(f.id, [Reference("io.cozy.bills", "bill-1")])
    new = PDF + b"v2"
    g = await store.overwrite(f.id, new, metadata={"a": 2})
    assert (g.id, g.name, g.dir_id) == (f.id, f.name, f.dir_id)
    assert g.rev != f.rev
    assert g.size == len(new)
    assert g.md5sum == md5_base64(new)
    assert g.metadata == {"a": 2}
    assert [r.id for r in g.referenced_by] == ["bill-1"]
    assert g.cozy_metadata["createdAt"] == f.cozy_metadata["createdAt"]
    assert await store.download(f.id) == new
    with pytest.raises(PreconditionFailed):
        await store.overwrite(f.id, b"v3", if_match=f.rev)
    with pytest.raises(PreconditionFailed):
        await store.overwrite(f.id, b"v3", md5=md5_base64(b"not v3"))
    h = await store.overwrite(f.id, b"v3", if_match=g.rev)
    assert await store.download(h.id) == b"v3"
    assert h.metadata == {"a": 2}


async def test_rename_move_and_metadata(store: Store) -> None:
    a = await store.mkdir(ROOT_DIR_ID, "a")
    b = await store.mkdir(ROOT_DIR_ID, "b")
    f = await store.upload(a.id, "one.pdf", PDF)
    renamed = await store.update_file(f.id, name="two.pdf")
    assert renamed.name == "two.pdf"
    assert renamed.path == "/a/two.pdf"
    moved = await store.update_file(f.id, dir_id=b.id)
    assert moved.dir_id == b.id
    assert moved.path == "/b/two.pdf"
    assert await _names(store, a.id) == []
    assert await _names(store, b.id) == ["two.pdf"]
    assert await store.download(f.id) == PDF
    tagged = await store.update_file(f.id, metadata={"k": "v"}, tags=["bill"])
    assert tagged.metadata == {"k": "v"}
    assert tagged.tags == ["bill"]
    with pytest.raises(PreconditionFailed):
        await store.update_file(f.id, name="three.pdf", if_match=renamed.rev)
    await store.upload(b.id, "taken.pdf", b"x")
    with pytest.raises(Conflict):
        await store.update_file(f.id, name="taken.pdf")
    with pytest.raises(InvalidName):
        await store.update_file(f.id, name="../escape.pdf")


async def test_moving_a_folder_moves_its_subtree(store: Store) -> None:
    src = await store.mkdir_p("/src/inner")
    f = await store.upload(src.id, "deep.pdf", PDF)
    dest = await store.mkdir(ROOT_DIR_ID, "dest")
    top = await store.stat_path("/src")
    moved = await store.update_file(top.id, dir_id=dest.id, name="renamed")
    assert moved.path == "/dest/renamed"
    assert (await store.stat(src.id)).path == "/dest/renamed/inner"
    assert (await store.stat_path("/dest/renamed/inner/deep.pdf")).id == f.id
    assert await store.download(f.id) == PDF
    with pytest.raises(Exception):  # noqa: B017, PT011 - BadRequest (400) on the stack, whatever its class here
        await store.update_file(dest.id, dir_id=src.id)  # into its own subtree


async def test_trash_frees_the_name_and_destroy_removes(store: Store) -> None:
    folder = await store.mkdir(ROOT_DIR_ID, "f")
    f = await store.upload(folder.id, "bill.pdf", PDF)
    trashed = await store.trash(f.id)
    assert trashed.trashed
    assert trashed.dir_id == TRASH_DIR_ID
    assert await _names(store, folder.id) == []
    again = await store.upload(folder.id, "bill.pdf", b"new one")  # the name is free again
    second = await store.trash(again.id)  # same name in the trash: the trash renames it
    assert second.name != trashed.name
    assert second.dir_id == TRASH_DIR_ID
    assert await store.download(f.id) == PDF  # still readable from the trash
    await store.destroy(f.id)
    with pytest.raises(NotFound):
        await store.stat(f.id)
    with pytest.raises(NotFound):
        await store.download(f.id)


async def test_trash_and_destroy_a_folder_with_content(store: Store) -> None:
    top = await store.mkdir_p("/old/sub")
    f = await store.upload(top.id, "x.pdf", PDF)
    old = await store.stat_path("/old")
    await store.trash(old.id)
    assert (await store.stat(f.id)).trashed
    await store.destroy(old.id)
    for gone in (old.id, top.id, f.id):
        with pytest.raises(NotFound):
            await store.stat(gone)
    assert (await store.mkdir_p("/old/sub")).path == "/old/sub"


async def test_references_and_referenced_files(store: Store) -> None:
    f = await store.upload(ROOT_DIR_ID, "a.pdf", PDF)
    g = await store.upload(ROOT_DIR_ID, "b.pdf", PDF)
    ref = Reference("io.cozy.bills", "bill-9")
    f2 = await store.add_referenced_by(f.id, [ref, ref, Reference("io.cozy.bills", "bill-10")])
    assert [r.id for r in f2.referenced_by] == ["bill-9", "bill-10"]
    await store.add_referenced_by(g.id, [ref])
    assert sorted(x.id for x in await store.referenced_files("io.cozy.bills", "bill-9")) == sorted([f.id, g.id])
    f3 = await store.remove_referenced_by(f.id, [ref])
    assert [r.id for r in f3.referenced_by] == ["bill-10"]
    assert [x.id for x in await store.referenced_files("io.cozy.bills", "bill-9")] == [g.id]
    assert await store.referenced_files("io.cozy.bills", "nobody") == []


async def test_find_files_like_connectors_do(store: Store) -> None:
    folder = await store.mkdir_p("/Administratif/EDF")
    for month in ("01", "02", "03"):
        await store.upload(
            folder.id,
            f"2024-{month}.pdf",
            PDF,
            metadata={"fileIdAttributes": f"ref-{month}"},
            source_account_identifier="alice",
        )
    await store.upload(folder.id, "other.pdf", PDF, source_account_identifier="bob")
    partial = {"trashed": False, "cozyMetadata.sourceAccountIdentifier": {"$exists": True}}
    ddoc = await store.define_index(
        "io.cozy.files",
        ["metadata.fileIdAttributes", "cozyMetadata.sourceAccountIdentifier", "cozyMetadata.createdByApp"],
        partial_filter=partial,
    )
    selector = {
        "metadata.fileIdAttributes": {"$in": ["ref-01", "ref-03", "ref-99"]},
        "cozyMetadata.sourceAccountIdentifier": "alice",
        "cozyMetadata.createdByApp": "contract-tests",
        **partial,
    }
    files, page = await store.find_files(selector, use_index=ddoc)
    assert sorted(f.name for f in files) == ["2024-01.pdf", "2024-03.pdf"]
    assert all(isinstance(f, FileDoc) and f.size == len(PDF) for f in files)
    assert all(f.path == f"/Administratif/EDF/{f.name}" for f in files)
    assert not page.next
    one, _ = await store.find_files({"name": "2024-02.pdf", "dir_id": folder.id})
    assert [f.metadata["fileIdAttributes"] for f in one] == ["ref-02"]
