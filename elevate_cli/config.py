"""Where `elevate login` keeps the portal URL and the token.

The URL goes to a JSON file (`$ELEVATE_CONFIG_DIR`, else `$XDG_CONFIG_HOME/elevate`, else
~/.config/elevate), created with mode 0600. The token goes to the OS keyring when the `keyring`
package is installed and has a usable backend, else into the same file. ELEVATE_URL and
ELEVATE_TOKEN override both (for CI jobs).
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

try:  # optional: only when the user installed it
    import keyring
    from keyring.errors import KeyringError
except ImportError:  # pragma: no cover - depends on the machine
    keyring = None
    KeyringError = Exception

SERVICE = "elevate"


@dataclass
class Settings:
    url: str
    token: str


def config_dir() -> Path:
    if os.environ.get("ELEVATE_CONFIG_DIR"):
        return Path(os.environ["ELEVATE_CONFIG_DIR"])
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "elevate"


def config_file() -> Path:
    return config_dir() / "config.json"


def _keyring_usable() -> bool:
    if keyring is None or os.environ.get("ELEVATE_NO_KEYRING"):
        return False
    backend = keyring.get_keyring()
    return getattr(backend, "priority", 0) > 0 and "fail" not in type(backend).__module__


def save(url: str, token: str) -> str:
    """Store the login; returns where the token went (for the user)."""
    data = {"url": url}
    where = f"the keyring ({SERVICE})"
    try:
        if not _keyring_usable():
            raise KeyringError("no keyring")
        keyring.set_password(SERVICE, url, token)
    except KeyringError:
        data["token"] = token
        where = str(config_file())
    _write_private(config_file(), json.dumps(data, indent=2))
    return where


def _write_private(path: Path, text: str) -> None:
    """Write `text` to `path`, readable by its owner only (created 0600, never wider)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.chmod(path, 0o600)  # an older file may have had wider bits
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)


def load() -> Settings | None:
    url, token = os.environ.get("ELEVATE_URL", ""), os.environ.get("ELEVATE_TOKEN", "")
    path = config_file()
    if path.exists():
        data = json.loads(path.read_text())
        url = url or data.get("url", "")
        token = token or data.get("token", "")
        if not token and _keyring_usable():
            token = keyring.get_password(SERVICE, url) or ""
    return Settings(url.rstrip("/"), token) if url and token else None


def forget() -> None:
    settings = load()
    if settings and _keyring_usable():
        with contextlib.suppress(KeyringError):
            keyring.delete_password(SERVICE, settings.url)
    config_file().unlink(missing_ok=True)
