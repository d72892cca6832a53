"""Every URL and action, every role, own and someone else's object: the exact outcome.

Refused means refused: whatever the status, nothing changed (no IDOR by guessing another
elevation's id). Done means the action went through and changed something. The employee URLs
are requests_app/urls.py; approvals and helpdesk are their own packages.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from requests_app import services
from requests_app.models import Approval, Elevation, Policy, User
from requests_app.roles import ROLES, ensure_roles

ANONYMOUS, EMPLOYEE, APPROVER, HELPDESK, AUDITOR, ADMIN = (
    "anonymous",
    "employee",
    "approver",
    "helpdesk",
    "auditor",
    "admin",
)
ALL_ROLES = (ANONYMOUS, EMPLOYEE, APPROVER, HELPDESK, AUDITOR, ADMIN)

OK = "200"  # a page
DONE = "done"  # a POST that went through: redirect, and something changed
REFUSED = "refused"  # a 200/302 answer with an error message; nothing changed
LOGIN = "login"  # sent to sign in; nothing changed
FORBIDDEN = "403"
NOT_FOUND = "404"


@dataclass
class World:
    actor: User | None
    client: Client
    mine: Elevation | None  # the actor's own pending elevation
    my_device: object
    victim: User
    theirs: Elevation  # someone else's pending elevation
    their_device: object
    break_glass: Elevation  # started by another admin, waiting for review


def _user(email: str, *roles: str, **fields) -> User:
    # No password: hashing one costs more than the whole request under test.
    user = User.objects.create_user(username=email, email=email, password=None, **fields)
    user.groups.set(Group.objects.filter(name__in=roles))
    return User.objects.get(pk=user.pk)


def _ask(user, device, **extra) -> Elevation:
    return services.elevation_request(
        requester=extra.pop("requester", user), beneficiary=user, device=device, minutes=60, reason="work", **extra
    )


PERSONAS = {
    EMPLOYEE: ("erin@example.com", (EMPLOYEE,), {}),
    APPROVER: ("avery@example.com", (EMPLOYEE, APPROVER), {}),
    HELPDESK: ("harper@example.com", (EMPLOYEE, HELPDESK), {}),
    AUDITOR: ("alex@example.com", (AUDITOR,), {}),
    ADMIN: ("ada@example.com", ROLES, {"is_staff": True, "is_superuser": True}),
}


@pytest.fixture
def world(request, db, make_device) -> Callable[[str], World]:
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
        theirs = _ask(victim, their_device)
        other_admin = _user("bo@example.com", *ROLES, is_superuser=True)
        break_glass = _ask(victim, make_device(victim), requester=other_admin, break_glass=True)
        client = Client()
        actor = mine = my_device = None
        if role != ANONYMOUS:
            email, roles, fields = PERSONAS[role]
            actor = _user(email, *roles, **fields)
            if role in (HELPDESK, ADMIN):
                TOTP.activate(actor, generate_totp_secret())  # their roles need MFA for staff pages
            my_device = make_device(actor)
            mine = _ask(actor, my_device)
            client.force_login(actor)
        return World(actor, client, mine, my_device, victim, theirs, their_device, break_glass)

    return build


def snapshot() -> tuple:
    """Everything an action could change."""
    rows = tuple(
        Elevation.objects.order_by("pk").values_list(
            "pk", "state", "expires_at", "extensions", "needs_review", "total_minutes"
        )
    )
    return rows, Approval.objects.count()


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    url: Callable[[World, str], str]  # (world, "own" | "other") -> path
    own: dict[str, str] | None  # role -> outcome; "*" for the rest; None: no "own" object
    other: dict[str, str] | None
    data: Callable[[World, str], dict] = lambda w, whose: {}
    headers: dict = field(default_factory=dict)


def elevation_of(w: World, whose: str) -> Elevation:
    return w.mine if whose == "own" else w.theirs


def user_of(w: World, whose: str) -> User:
    return w.actor if whose == "own" else w.victim


def device_of(w: World, whose: str):
    return w.my_device if whose == "own" else w.their_device


def url_for_elevation(name: str):
    return lambda w, whose: reverse(name, args=[elevation_of(w, whose).public_id])


# Who may do what, on their own object and on someone else's.
SIGNED_IN_OK = {ANONYMOUS: LOGIN, "*": OK}
STAFF_PAGE = {ANONYMOUS: LOGIN, HELPDESK: OK, ADMIN: OK, "*": FORBIDDEN}
STAFF_ACTION = {ANONYMOUS: LOGIN, HELPDESK: DONE, ADMIN: DONE, "*": FORBIDDEN}
SEE_OTHERS = {ANONYMOUS: LOGIN, EMPLOYEE: NOT_FOUND, "*": OK}  # approver: it is theirs to decide
# Seen but not theirs to change (an approver deciding it, an auditor): 403, as every refusal of a
# role is; not seen at all: 404, as if it did not exist.
CHANGE_OTHERS = {ANONYMOUS: LOGIN, EMPLOYEE: NOT_FOUND, APPROVER: FORBIDDEN, AUDITOR: FORBIDDEN, "*": DONE}
DECIDE_OTHERS = {ANONYMOUS: LOGIN, EMPLOYEE: NOT_FOUND, APPROVER: DONE, ADMIN: DONE, "*": FORBIDDEN}

CASES = [
    Case("my elevations", "GET", lambda w, whose: reverse("requests_app:my_elevations"), SIGNED_IN_OK, None),
    Case("request form", "GET", lambda w, whose: reverse("requests_app:request"), SIGNED_IN_OK, None),
    Case(
        "request admin on a device",
        "POST",
        lambda w, whose: reverse("requests_app:request"),
        {ANONYMOUS: LOGIN, "*": DONE},
        {ANONYMOUS: LOGIN, "*": REFUSED},  # someone else's device is not offered, even to helpdesk
        data=lambda w, whose: {"device": str(device_of(w, whose).public_id), "minutes": "60", "reason": "work"},
    ),
    Case("elevation detail", "GET", url_for_elevation("requests_app:detail"), SIGNED_IN_OK, SEE_OTHERS),
    Case(
        "elevation row (htmx)",
        "GET",
        url_for_elevation("requests_app:row"),
        SIGNED_IN_OK,
        SEE_OTHERS,
        headers={"HX-Request": "true"},
    ),
    Case(
        "extend",
        "POST",
        url_for_elevation("requests_app:extend"),
        {ANONYMOUS: LOGIN, "*": DONE},
        CHANGE_OTHERS,
        data=lambda w, whose: {"minutes": "15", "reason": "a bit longer"},
    ),
    Case(
        "revoke",
        "POST",
        url_for_elevation("requests_app:revoke"),
        {ANONYMOUS: LOGIN, "*": DONE},
        CHANGE_OTHERS,
        data=lambda w, whose: {"reason": "done"},
    ),
    Case("approvals queue", "GET", lambda w, whose: reverse("approvals:queue"), SIGNED_IN_OK, None),
    Case(
        "approve",
        "POST",
        url_for_elevation("approvals:approve"),
        {ANONYMOUS: LOGIN, "*": FORBIDDEN},  # nobody approves their own request
        DECIDE_OTHERS,
        data=lambda w, whose: {"reason": "fine"},
    ),
    Case(
        "deny",
        "POST",
        url_for_elevation("approvals:deny"),
        {ANONYMOUS: LOGIN, "*": FORBIDDEN},
        DECIDE_OTHERS,
        data=lambda w, whose: {"reason": "no"},
    ),
    Case("helpdesk console", "GET", lambda w, whose: reverse("helpdesk:console"), STAFF_PAGE, None),
    Case(
        "helpdesk user page",
        "GET",
        lambda w, whose: reverse("helpdesk:user", args=[user_of(w, whose).pk]),
        STAFF_PAGE,
        STAFF_PAGE,
    ),
    Case(
        "helpdesk device page",
        "GET",
        lambda w, whose: reverse("helpdesk:device", args=[device_of(w, whose).public_id]),
        STAFF_PAGE,
        STAFF_PAGE,
    ),
    Case(
        "helpdesk extend",
        "POST",
        url_for_elevation("helpdesk:extend"),
        STAFF_ACTION,
        STAFF_ACTION,
        data=lambda w, whose: {"minutes": "15", "reason": "user asked"},
    ),
    Case(
        "helpdesk revoke",
        "POST",
        url_for_elevation("helpdesk:revoke"),
        STAFF_ACTION,
        STAFF_ACTION,
        data=lambda w, whose: {"reason": "incident"},
    ),
    Case(
        "helpdesk grant on behalf",
        "POST",
        lambda w, whose: reverse("helpdesk:grant", args=[user_of(w, whose).pk]),
        STAFF_ACTION,
        STAFF_ACTION,
        data=lambda w, whose: {"device": str(device_of(w, whose).public_id), "minutes": "60", "reason": "phone"},
    ),
    Case(
        "break-glass",
        "POST",
        lambda w, whose: reverse("helpdesk:break_glass", args=[user_of(w, whose).pk]),
        {ANONYMOUS: LOGIN, ADMIN: DONE, "*": FORBIDDEN},
        {ANONYMOUS: LOGIN, ADMIN: DONE, "*": FORBIDDEN},
        data=lambda w, whose: {"device": str(device_of(w, whose).public_id), "minutes": "60", "reason": "outage"},
    ),
    Case(
        "bulk revoke a user",
        "POST",
        lambda w, whose: reverse("helpdesk:revoke_all_user", args=[user_of(w, whose).pk]),
        STAFF_ACTION,
        STAFF_ACTION,
        data=lambda w, whose: {"reason": "offboarding"},
    ),
    Case(
        "bulk revoke a device",
        "POST",
        lambda w, whose: reverse("helpdesk:revoke_all_device", args=[device_of(w, whose).public_id]),
        STAFF_ACTION,
        STAFF_ACTION,
        data=lambda w, whose: {"reason": "incident"},
    ),
    Case(
        "mark break-glass reviewed",
        "POST",
        lambda w, whose: reverse("helpdesk:mark_reviewed", args=[w.break_glass.public_id]),
        None,
        {ANONYMOUS: LOGIN, ADMIN: DONE, "*": FORBIDDEN},
        data=lambda w, whose: {"reason": "looked at it"},
    ),
    Case("step-up page", "GET", lambda w, whose: reverse("portal_auth:step_up"), SIGNED_IN_OK, None),
]

PARAMS = [
    pytest.param(case, role, whose, id=f"{case.name}-{role}-{whose}")
    for case in CASES
    for whose, table in (("own", case.own), ("other", case.other))
    if table is not None
    for role in ALL_ROLES
    # Anonymous owns nothing: it only meets the object-free pages and other people's objects.
    if not (role == ANONYMOUS and whose == "own" and case.other is not None)
]


def expected(case: Case, role: str, whose: str) -> str:
    table = case.own if whose == "own" else case.other
    return table.get(role, table["*"])


def send(w: World, case: Case, whose: str):
    url = case.url(w, whose)
    if case.method == "GET":
        return w.client.get(url, headers=case.headers)
    return w.client.post(url, case.data(w, whose), headers=case.headers)


@pytest.mark.parametrize(("case", "role", "whose"), PARAMS)
def test_authorization(world, case: Case, role: str, whose: str):
    w = world(role)
    before = snapshot()
    response = send(w, case, whose)
    outcome = expected(case, role, whose)
    after = snapshot()

    if outcome == DONE:
        assert response.status_code == 302, response.content[:500]
        assert after != before, "the action was accepted but changed nothing"
        return
    assert after == before, f"refused ({outcome}) but something changed"
    if outcome == OK:
        assert response.status_code == 200
    elif outcome == LOGIN:
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_login"))
    elif outcome == REFUSED:
        assert response.status_code in (200, 302)
    else:
        assert response.status_code == int(outcome)


ID_URLS = [
    "requests_app:detail",
    "requests_app:row",
    "requests_app:extend",
    "requests_app:revoke",
    "approvals:approve",
    "approvals:deny",
    "helpdesk:extend",
    "helpdesk:revoke",
    "helpdesk:mark_reviewed",
    "helpdesk:device",
    "helpdesk:revoke_all_device",
]


@pytest.mark.parametrize("name", ID_URLS)
@pytest.mark.parametrize("role", [EMPLOYEE, APPROVER, HELPDESK, AUDITOR, ADMIN])
def test_a_guessed_id_is_404_or_403_and_changes_nothing(world, name, role):
    w = world(role)
    before = snapshot()
    url = reverse(name, args=[uuid.uuid4()])
    is_get = name in ("requests_app:detail", "requests_app:row", "helpdesk:device")
    response = w.client.get(url) if is_get else w.client.post(url, {"reason": "x", "minutes": "15"})
    assert response.status_code in (403, 404)
    may_reach = ADMIN if name == "helpdesk:mark_reviewed" else (HELPDESK, ADMIN)
    if role in may_reach or not name.startswith("helpdesk:"):
        assert response.status_code == 404
    assert snapshot() == before
