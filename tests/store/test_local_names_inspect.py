"""Names (the stack's rules, ``normalizeFilename``, vendor names) and the ``store`` CLI's data."""

from __future__ import annotations

import json
from pathlib import Path

import anyio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from browserkonnector.store import _inspect as inspect
from browserkonnector.store._base import FILES_DOCTYPE, ROOT_DIR_ID
from browserkonnector.store._errors import InvalidName, NotFound
from browserkonnector.store._local import LocalStore
from browserkonnector.store._names import check_name, normalize_filename, sanitize_filename, split_path


@pytest.mark.parametrize(
    ("raw", "ext", "expected"),
    [
        ("Facture: 2024/01 <EDF>", None, "Facture 2024 01 EDF"),
        ('a"b\\c|d?e*f', "pdf", "a b c d e f.pdf"),
        ("  many   \t spaces\n", ".pdf", "many spaces.pdf"),
        ("nul\x00here", None, "nul here"),
    ],
)
def test_normalize_filename_like_konnector_libs(raw: str, ext: str | None, expected: str) -> None:
    assert normalize_filename(raw, ext) == expected


def test_normalize_filename_refuses_empty() -> None:
    with pytest.raises(ValueError, match="empty"):
        normalize_filename(' <>:"/ ')


def test_check_name_and_split_path() -> None:
    assert check_name("2024-01 facture (copie) #1 é.pdf") == "2024-01 facture (copie) #1 é.pdf"
    assert split_path("//a/b/") == ["a", "b"]
    assert split_path("/") == []
    for bad in ("a/../b", "relative", "/a/./b"):
        with pytest.raises(InvalidName):
            split_path(bad)


@pytest.mark.parametrize(
    "vendor_name",
    ["../../etc/passwd", "/abs/path.pdf", "..", ".", "", "\x00", "bill\u202efdp.exe", "a\r\nb.pdf", "x" * 400 + ".pdf"],
)
def test_sanitize_filename_always_gives_a_valid_name(vendor_name: str) -> None:
    name = sanitize_filename(vendor_name)
    assert check_name(name) == name
    assert "/" not in name
    assert name not in (".", "..")
    assert "\u202e" not in name


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_sanitize_filename_never_fails(raw: str) -> None:
    name = sanitize_filename(raw)
    assert check_name(name) == name
    assert len(name.encode()) <= 255


@pytest.mark.anyio
async def test_inspect_ls_export_show(tmp_path: Path) -> None:
    root = tmp_path / "store"
    async with LocalStore(root) as store:
        await store.bulk_save("io.cozy.bills", [{"_id": f"b{i}", "amount": i} for i in range(3)])
        folder = await store.mkdir_p("/Administratif")
        f = await store.upload(folder.id, "bill.pdf", b"%PDF-1.4 hi")
    counts = {c.doctype: c for c in await inspect.ls(root)}
    assert counts["io.cozy.bills"].documents == 3
    assert counts[FILES_DOCTYPE].files == 1
    assert counts[FILES_DOCTYPE].bytes == len(b"%PDF-1.4 hi")
    assert "io.cozy.bills" in inspect.format_ls(list(counts.values()))
    lines = [line async for line in inspect.export(root, "io.cozy.bills")]
    assert [json.loads(line)["_id"] for line in lines] == ["b0", "b1", "b2"]
    shown = await inspect.show(root, FILES_DOCTYPE, f.id)
    assert shown["path"] == "/Administratif/bill.pdf"
    assert await anyio.Path(shown["disk_path"]).read_bytes() == b"%PDF-1.4 hi"
    root_dir = await inspect.show(root, FILES_DOCTYPE, ROOT_DIR_ID)
    assert Path(root_dir["disk_path"]) == root / "files"
    with pytest.raises(NotFound):
        await inspect.ls(tmp_path / "nowhere")
