"""Every API endpoint x role x scope x own/other object: the exact outcome.

Each role's token is tried twice: with every scope the role allows (FULL, the table's outcome),
and with the scopes that would open the endpoint taken away (refused: 403 or 404). Refused
means nothing changed. Every actor has MFA, so the staff scopes their roles allow are theirs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.contrib.auth.models import Group
from django.test import Client

from requests_app import services
from requests_app.api.scopes import allowed_scopes
from requests_app.api.tokens import token_create
from requests_app.models import Approval, Elevation, Policy, User
from requests_app.roles import ROLES, ensure_roles

EMPLOYEE, APPROVER, HELPDESK, AUDITOR, ADMIN = ROLES
PERSONAS = {
    EMPLOYEE: ("erin@example.com", (EMPLOYEE,), {}),
    APPROVER: ("avery@example.com", (EMPLOYEE, APPROVER), {}),
    HELPDESK: ("harper@example.com", (EMPLOYEE, HELPDESK), {}),
    AUDITOR: ("alex@example.com", (AUDITOR,), {}),
    ADMIN: ("ada@example.com", ROLES, {"is_staff": True, "is_superuser": True}),
}
REFUSED = {403, 404}


@dataclass
class World:
    actor: User
    mine: Elevation  # the actor's own request, waiting for approval
    my_device: object
    victim: User
    theirs: Elevation  # someone else's request, waiting for approval
    their_device: object


def _user(email: str, *roles: str, **fields) -> User:
    user = User.objects.create_user(username=email, email=email, password=None, **fields)
    user.groups.set(Group.objects.filter(name__in=roles))
    return User.objects.get(pk=user.pk)


def _ask(user, device) -> Elevation:
    return services.elevation_request(requester=user, device=device, minutes=60, reason="work")


@pytest.fixture
def world(db, make_device) -> Callable[[str], World]:
    def build(role: str) -> World:
        ensure_roles()
        Policy.objects.create(
            name="Default",
            is_default=True,
            allowed_durations=[15, 60, 240],
            extension_increments=[15, 60],
            requires_approval=True,
            auto_approve_up_to_minutes=15,
        )
        victim = _user("victor@example.com", EMPLOYEE)
        their_device = make_device(victim, hostname="victor-laptop")
        email, roles, fields = PERSONAS[role]
        actor = _user(email, *roles, **fields)
        TOTP.activate(actor, generate_totp_secret())
        my_device = make_device(actor, hostname="my-laptop")
        return World(actor, _ask(actor, my_device), my_device, victim, _ask(victim, their_device), their_device)

    return build


def snapshot() -> tuple:
    rows = tuple(Elevation.objects.order_by("pk").values_list("pk", "state", "expires_at", "extensions"))
    return rows, Approval.objects.count()


def elevation_of(w: World, whose: str) -> Elevation:
    return w.mine if whose == "own" else w.theirs


def person_of(w: World, whose: str) -> User:
    return w.actor if whose == "own" else w.victim


def device_of(w: World, whose: str):
    return w.my_device if whose == "own" else w.their_device


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    path: Callable[[World, str], str]
    own: dict[str, int]  # role -> status with every scope the role allows; "*" for the rest
    other: dict[str, int] | None  # None: the endpoint has no "someone else's" object
    opens: dict[str, frozenset[str]]  # whose -> the scopes that open it (taken away: refused)
    data: Callable[[World, str], dict] = lambda w, whose: {}
    query: dict = field(default_factory=dict)


ALL = {"*": 200}
STAFF_READ = frozenset({"approve", "helpdesk", "audit"})
HELP = {HELPDESK: 200, ADMIN: 200, "*": 403}
AUDITORS = {AUDITOR: 200, ADMIN: 200, "*": 403}
APPROVERS_ONLY = {APPROVER: 200, ADMIN: 200, "*": 403}


def _opens(own: set[str], other: set[str] | None = None) -> dict[str, frozenset[str]]:
    return {"own": frozenset(own), "other": frozenset(other if other is not None else own)}


CASES = [
    Case("me", "GET", lambda w, x: "me", ALL, None, _opens(set())),
    Case("devices", "GET", lambda w, x: "devices", ALL, None, _opens({"read"})),
    Case("policies", "GET", lambda w, x: "policies", ALL, None, _opens({"read"})),
    Case("elevations", "GET", lambda w, x: "elevations", ALL, None, _opens({"read"})),
    Case(
        "elevation",
        "GET",
        lambda w, x: f"elevations/{elevation_of(w, x).public_id}",
        ALL,
        {EMPLOYEE: 404, "*": 200},
        _opens({"read"}, STAFF_READ),
    ),
    Case(
        "request",
        "POST",
        lambda w, x: "elevations",
        ALL,  # 200: the pending request on that device is extended instead
        {"*": 422},  # not one of the actor's devices
        _opens({"request"}),
        data=lambda w, x: {"device": device_of(w, x).hostname, "minutes": 60, "reason": "work"},
    ),
    Case(
        "extend",
        "POST",
        lambda w, x: f"elevations/{elevation_of(w, x).public_id}/extend",
        ALL,
        {EMPLOYEE: 404, APPROVER: 403, AUDITOR: 403, "*": 200},  # seen through approve/audit, not changed
        _opens({"request"}, {"helpdesk"}),
        data=lambda w, x: {"minutes": 15, "reason": "on call"},
    ),
    Case(
        "revoke",
        "POST",
        lambda w, x: f"elevations/{elevation_of(w, x).public_id}/revoke",
        ALL,
        {EMPLOYEE: 404, APPROVER: 403, AUDITOR: 403, "*": 200},
        _opens({"request"}, {"helpdesk"}),
        data=lambda w, x: {"reason": "done"},
    ),
    Case("approvals", "GET", lambda w, x: "approvals", APPROVERS_ONLY, None, _opens({"approve"})),
    Case(
        "approve",
        "POST",
        lambda w, x: f"approvals/{elevation_of(w, x).public_id}/approve",
        {APPROVER: 403, ADMIN: 403, "*": 403},  # nobody approves their own request
        APPROVERS_ONLY,
        _opens({"approve"}),
    ),
    Case(
        "deny",
        "POST",
        lambda w, x: f"approvals/{elevation_of(w, x).public_id}/deny",
        {"*": 403},
        APPROVERS_ONLY,
        _opens({"approve"}),
        data=lambda w, x: {"reason": "not now"},
    ),
    Case("people", "GET", lambda w, x: "helpdesk/people", HELP, None, _opens({"helpdesk"}), query={"q": "e"}),
    Case("device search", "GET", lambda w, x: "helpdesk/devices", HELP, None, _opens({"helpdesk"}), query={"q": "l"}),
    Case(
        "grant",
        "POST",
        lambda w, x: "helpdesk/grants",
        HELP,  # 200: extends the pending request on that device
        HELP,
        _opens({"helpdesk"}),
        data=lambda w, x: {
            "user": person_of(w, x).email,
            "device": str(device_of(w, x).public_id),
            "minutes": 60,
            "reason": "on call",
        },
    ),
    Case(
        "bulk revoke",
        "POST",
        lambda w, x: "helpdesk/bulk-revoke",
        HELP,
        HELP,
        _opens({"helpdesk"}),
        data=lambda w, x: {"user": person_of(w, x).email, "reason": "offboarding"},
    ),
    Case("audit events", "GET", lambda w, x: "audit/events", AUDITORS, None, _opens({"audit"})),
    Case("audit export", "GET", lambda w, x: "audit/export.jsonl", AUDITORS, None, _opens({"audit"})),
]
PARAMS = [
    pytest.param(case, role, whose, id=f"{case.name}-{role}-{whose}")
    for case in CASES
    for role in ROLES
    for whose in ("own", "other")
    if whose == "own" or case.other is not None
]


def _call(w: World, case: Case, whose: str, scopes: set[str]):
    if not scopes:
        return None  # a token needs at least one scope: none left means refused at creation
    _, secret = token_create(user=w.actor, name="t", scopes=sorted(scopes))
    client, url = Client(HTTP_AUTHORIZATION=f"Bearer {secret}"), f"/api/v1/{case.path(w, whose)}"
    if case.method == "GET":
        return client.get(url, case.query)
    return client.post(url, case.data(w, whose), content_type="application/json")


@pytest.mark.parametrize(("case", "role", "whose"), PARAMS)
def test_api_authorization(world, case: Case, role: str, whose: str):
    w = world(role)
    full = allowed_scopes(w.actor)
    table = case.own if whose == "own" else case.other
    expected = table.get(role, table.get("*"))

    before = snapshot()
    without = _call(w, case, whose, full - case.opens[whose]) if case.opens[whose] else None
    if without is not None:
        assert without.status_code in REFUSED, without.content
        assert without["Content-Type"] == "application/problem+json"
    assert snapshot() == before

    response = _call(w, case, whose, full)
    assert response.status_code == expected, response.content
    if expected >= 400 or case.method == "GET":
        assert snapshot() == before, "refused or read-only, yet something changed"
    else:
        assert snapshot() != before, "done, yet nothing changed"


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_no_token_is_a_401_for_every_endpoint(db, case: Case):
    client, url = (
        Client(),
        "/api/v1/"
        + case.path(World(None, Elevation(), None, None, Elevation(), None), "own").replace(
            "None", "00000000-0000-0000-0000-000000000000"
        ),
    )
    response = client.get(url) if case.method == "GET" else client.post(url, {}, content_type="application/json")
    assert response.status_code == 401
