"""Reading a reason, by a method anyone can check by hand.

1. Lower-case the reason and split it into words (letters, digits, dots, plus and hyphens).
2. Its kind is the entry of KINDS with the most of its keywords among the words (the first
   listed wins a tie); none at all is "Other".
3. The software named is what follows the first software verb (install, update, uninstall…):
   up to two words, skipping FILLER ("the", "a", "new"…) and stopping at a STOP word ("for",
   "on", "to"…) or a version number. "Install the Docker Desktop app for the build" → "docker desktop".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

WORD = re.compile(r"[a-z0-9][a-z0-9.+\-]*")
VERSION = re.compile(r"^v?\d+(\.\d+)*$")

KINDS: tuple[tuple[str, frozenset[str]], ...] = (
    ("Install software", frozenset({"install", "installing", "installer", "setup", "msi", "pkg", "dmg"})),
    ("Update or upgrade", frozenset({"update", "updating", "upgrade", "upgrading", "patch", "firmware", "bios"})),
    ("Uninstall or remove", frozenset({"uninstall", "uninstalling", "remove", "removing"})),
    ("Drivers and printers", frozenset({"driver", "drivers", "printer", "printers", "scanner", "usb"})),
    ("Network and VPN", frozenset({"vpn", "network", "wifi", "wi-fi", "proxy", "dns", "firewall", "certificate"})),
    (
        "Development tools",
        frozenset({"debug", "debugger", "docker", "compile", "build", "xcode", "npm", "pip", "brew"}),
    ),
    ("System settings", frozenset({"settings", "configure", "config", "registry", "permissions", "service", "hosts"})),
    ("Troubleshooting", frozenset({"fix", "troubleshoot", "error", "crash", "broken", "repair", "issue", "logs"})),
)
OTHER = "Other"
SOFTWARE_VERBS = frozenset(
    {"install", "installing", "reinstall", "update", "updating", "upgrade", "upgrading", "uninstall", "uninstalling"}
)
FILLER = frozenset({"the", "a", "an", "new", "old", "latest", "our", "my", "some", "of", "app", "application"})
STOP = frozenset(
    {"for", "on", "to", "in", "from", "with", "and", "so", "because", "at", "as", "via", "version", "which"}
)
SOFTWARE_WORDS = 2


@dataclass(frozen=True)
class Reading:
    kind: str
    software: str  # "" when none is named


def words(reason: str) -> list[str]:
    return WORD.findall((reason or "").lower())


def kind_of(found: list[str]) -> str:
    present = set(found)
    best, best_hits = OTHER, 0
    for name, keywords in KINDS:
        hits = len(present & keywords)
        if hits > best_hits:
            best, best_hits = name, hits
    return best


def software_in(found: list[str]) -> str:
    for n, word in enumerate(found):
        if word not in SOFTWARE_VERBS:
            continue
        named: list[str] = []
        for following in found[n + 1 :]:
            if following in STOP or VERSION.match(following) or following in SOFTWARE_VERBS:
                break
            if following in FILLER:
                if named:
                    break
                continue
            named.append(following)
            if len(named) == SOFTWARE_WORDS:
                break
        if named:
            return " ".join(named)
    return ""


def read(reason: str) -> Reading:
    found = words(reason)
    return Reading(kind_of(found), software_in(found))
