"""The installed `elevate` command, run as a process against a live portal."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from requests_app.api.tokens import token_create


@dataclass
class Run:
    code: int
    out: str
    err: str


class Terminal:
    """One person's shell: their own config directory, the command on PATH."""

    def __init__(self, home: Path, url: str) -> None:
        self.home, self.url = home, url
        self.env = {
            **os.environ,
            "HOME": str(home),
            "ELEVATE_CONFIG_DIR": str(home / "elevate"),
            "ELEVATE_NO_KEYRING": "1",
            "TZ": "UTC",
        }
        self.env.pop("ELEVATE_URL", None)
        self.env.pop("ELEVATE_TOKEN", None)

    def command(self, *args: str) -> list[str]:
        return [str(Path(sys.executable).parent / "elevate"), *args]

    def run(self, *args: str, stdin: str = "", timeout: float = 60) -> Run:
        done = subprocess.run(
            self.command(*args), input=stdin, capture_output=True, text=True, env=self.env, timeout=timeout
        )
        return Run(done.returncode, done.stdout, done.stderr)

    def start(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen(
            self.command(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=self.env
        )

    def login(self, user, *scopes: str) -> Run:
        _, secret = token_create(user=user, name="cli", scopes=list(scopes or ("read", "request")))
        return self.run("login", "--url", self.url, stdin=secret + "\n")


@pytest.fixture
def terminal(live_server, tmp_path):
    """terminal(name) -> a Terminal of its own for that person."""

    def make(name: str = "me") -> Terminal:
        return Terminal(tmp_path / name, live_server.url)

    return make
