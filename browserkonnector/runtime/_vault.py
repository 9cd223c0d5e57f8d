"""The session vault: an account's logged-in browser state, encrypted, kept between runs.

Where it lives: in the account document's ``data`` (``session_vault``), which is where the Cozy contract
keeps a konnector's state between runs (the JS library's ``CookieKonnector`` keeps its cookie jar in
``account.data.auth.session``). So it lives in the embedded store's SQLite in a local run, and in the
Cozy's ``io.cozy.accounts`` document in a konnector job — encrypted in both, never in clear.

Encryption: Fernet (AES-128-CBC + HMAC-SHA256, from ``cryptography``) over the zlib-compressed JSON of
the state. The key comes from, first found:

1. ``BROWSERKONNECTOR_VAULT_KEY``: a Fernet key (``Fernet.generate_key()``, 44 characters);
2. ``BROWSERKONNECTOR_VAULT_KEY_FILE``: a file holding one, created (mode 0600) when absent;
3. in a konnector job, a key derived (HKDF-SHA256) from the account's credentials (its ``auth``, which
   the stack decrypts only for the konnector itself) and its id: the job's container keeps no file
   between runs, and a key only the konnector can rebuild is what the vault needs. Changing the
   password changes the key, which drops the old session — as it should;
4. locally, ``$XDG_CONFIG_HOME/browserkonnector/vault.key`` (else ``$HOME/.config/...``; with neither
   variable set, ``vault.key`` in the store folder), created with mode 0600. Kept out of the store by
   default, so a copy of the store carries no usable session.

A key file that others can read is refused (named, with the ``chmod`` to run). A vault that cannot be
read — corrupt, another key, another format — is discarded with a warning and the run logs in: losing a
session costs one login, never a run.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
import zlib
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from loguru import logger

from browserkonnector.browser._state import BrowserState
from browserkonnector.runtime._job import Account

__all__ = [
    "ENV_KEY",
    "ENV_KEY_FILE",
    "VAULT_DATA_KEY",
    "SessionVault",
    "VaultKeyError",
    "VaultUnreadable",
    "derive_job_key",
    "discard_vault",
    "key_file_path",
    "load_or_create_key_file",
    "open_envelope",
    "seal",
]

ENV_KEY = "BROWSERKONNECTOR_VAULT_KEY"
ENV_KEY_FILE = "BROWSERKONNECTOR_VAULT_KEY_FILE"
#: The key of the account's ``data`` that holds the sealed vault.
VAULT_DATA_KEY = "session_vault"
FORMAT = 1
log = logger.bind(namespace="session")


class VaultUnreadable(Exception):
    """The stored vault cannot be used; the message says why (never with any of its content)."""


class VaultKeyError(Exception):
    """The vault key cannot be used (bad key text, a key file others can read); names the source."""


def _fernet(key: bytes) -> Any:
    from cryptography.fernet import Fernet

    try:
        return Fernet(key)
    except (ValueError, TypeError):
        raise VaultKeyError(
            "not a Fernet key (32 url-safe base64-encoded bytes, as Fernet.generate_key() makes)"
        ) from None


def key_id(key: bytes) -> str:
    """A short fingerprint of the key, stored beside the vault so "another key" can be told from "corrupt"."""
    return hashlib.sha256(b"browserkonnector-vault-key-id:" + key).hexdigest()[:12]


def seal(state: BrowserState, key: bytes, *, profile: bool = False) -> dict[str, Any]:
    """The vault's stored form: an envelope with the encrypted, compressed state inside."""
    plain = json.dumps({"state": state.to_json(), "profile": profile}, separators=(",", ":")).encode()
    token = _fernet(key).encrypt(zlib.compress(plain, 6)).decode("ascii")
    return {
        "format": FORMAT,
        "key_id": key_id(key),
        "saved_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "profile": profile,
        "token": token,
    }


def open_envelope(envelope: Any, key: bytes) -> BrowserState:
    """The state inside ``envelope``; :class:`VaultUnreadable` saying why when it cannot be read."""
    from cryptography.fernet import InvalidToken

    if not isinstance(envelope, Mapping) or not isinstance(envelope.get("token"), str):
        raise VaultUnreadable("not a vault envelope (no 'token')")
    if envelope.get("format") != FORMAT:
        raise VaultUnreadable(f"vault format {envelope.get('format')!r}, this version reads {FORMAT}")
    try:
        compressed = _fernet(key).decrypt(envelope["token"].encode("ascii"))
    except (InvalidToken, UnicodeEncodeError):
        other = envelope.get("key_id") not in (None, key_id(key))
        raise VaultUnreadable("encrypted with another key" if other else "corrupt (decryption failed)") from None
    try:
        data = json.loads(zlib.decompress(compressed))
        return BrowserState.from_json(data["state"])
    except (zlib.error, ValueError, KeyError, TypeError) as exc:
        raise VaultUnreadable(f"corrupt content ({type(exc).__name__})") from None


def derive_job_key(auth: Mapping[str, Any], account_id: str) -> bytes | None:
    """A Fernet key only a holder of the account's decrypted credentials can rebuild (``None`` without)."""
    material = {k: v for k, v in auth.items() if v not in (None, "")}
    if not material:
        return None
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    hkdf = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=b"browserkonnector-vault:" + account_id.encode(),
        info=b"session vault v1",
    )
    raw = hkdf.derive(json.dumps(material, sort_keys=True, default=str).encode())
    return base64.urlsafe_b64encode(raw)


def key_file_path(environ: Mapping[str, str], store_dir: Path) -> Path:
    """Where the local key file is (see the module docstring for the order)."""
    if environ.get(ENV_KEY_FILE):
        return Path(environ[ENV_KEY_FILE]).expanduser()
    config = environ.get("XDG_CONFIG_HOME") or (str(Path(environ["HOME"]) / ".config") if environ.get("HOME") else "")
    if config:
        return Path(config) / "browserkonnector" / "vault.key"
    return store_dir / "vault.key"


def load_or_create_key_file(path: Path) -> bytes:
    """The key in ``path``, made (0600, atomically, never overwriting) when absent. Refuses a file that
    others can read or write, and one that is not a key, naming it."""
    from cryptography.fernet import Fernet

    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another run made it meanwhile: read theirs
            pass
        else:
            with os.fdopen(fd, "wb") as out:
                out.write(Fernet.generate_key() + b"\n")
            log.info("created the session vault key {} (mode 0600)", path)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise VaultKeyError(
            f"vault key file {path} is readable or writable by others (mode {mode:04o}): run chmod 600 {path}"
        )
    key = path.read_bytes().strip()
    try:
        _fernet(key)
    except VaultKeyError as exc:
        raise VaultKeyError(f"vault key file {path}: {exc}") from None
    return key


class SessionVault:
    """The vault of one account: read once at the start of a run, written after a login and at the end."""

    def __init__(self, account: Account, key: bytes) -> None:
        self.account = account
        self.key = key

    @classmethod
    def for_run(
        cls, account: Account, *, environ: Mapping[str, str], is_job: bool, store_dir: Path
    ) -> SessionVault | None:
        """The run's vault, or ``None`` (with a warning saying why) when no key can be had."""
        try:
            if environ.get(ENV_KEY):
                key = environ[ENV_KEY].strip().encode()
                try:
                    _fernet(key)
                except VaultKeyError as exc:
                    raise VaultKeyError(f"{ENV_KEY}: {exc}") from None
            elif is_job and not environ.get(ENV_KEY_FILE):
                derived = derive_job_key(account.auth, account.id)
                if derived is None:
                    log.warning(
                        "no session vault: the account has no credentials to derive its key from (set {})", ENV_KEY
                    )
                    return None
                key = derived
            else:
                key = load_or_create_key_file(key_file_path(environ, store_dir))
        except (VaultKeyError, OSError) as exc:
            log.warning("no session vault this run: {}", exc)
            return None
        return cls(account, key)

    async def load(self) -> BrowserState | None:
        """The kept state, or ``None``: none kept, or unreadable (then discarded, with a warning)."""
        envelope = self.account.data.get(VAULT_DATA_KEY)
        if envelope is None:
            return None
        try:
            state = open_envelope(envelope, self.key)
        except VaultUnreadable as exc:
            log.warning("the kept session cannot be read ({}): discarding it, this run logs in", exc)
            await self.discard()
            return None
        saved = envelope.get("saved_at", "?") if isinstance(envelope, Mapping) else "?"
        log.info("restoring the session kept at {} ({} cookie(s))", saved, len(state.cookies))
        return state

    async def save(self, state: BrowserState, *, profile: bool = False) -> None:
        await self.account.save_data({VAULT_DATA_KEY: seal(state, self.key, profile=profile)})
        log.debug(
            "session kept ({} cookie(s), {} origin(s) with sessionStorage)",
            len(state.cookies),
            len(state.session_storage),
        )

    async def discard(self) -> None:
        await discard_vault(self.account)


async def discard_vault(account: Account) -> None:
    """Drop the account's kept session (no key needed: nothing is read)."""
    current = dict((await account.refresh()).get("data") or {})
    if current.pop(VAULT_DATA_KEY, None) is not None:
        await account.save_data(current, merge=False)
