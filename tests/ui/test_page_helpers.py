"""The cheap stand-ins the long lists use say exactly what the built-ins they replace said, and
the one-query permission check and the policy chooser answer as the lookups they replace."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
import zoneinfo
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.template import Context, Template
from django.utils import timezone
from django.utils.dateformat import format as format_date

from requests_app import clock, policy
from requests_app.auth.backends import PortalAuthenticationBackend, group_ids
from requests_app.lifecycle import CHANGING_STATES, State
from requests_app.models import Elevation, Policy, User
from requests_app.templatetags.portal_ui import clip, iso, state_badge, state_label, when

ROOT = Path(__file__).resolve().parents[2]
ZONES = ("UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata")


def reference_when(moment) -> str:
    """The filter as it was, on Django's date formatting."""
    local = timezone.localtime(moment)
    days = (local.date() - timezone.localtime(clock.now()).date()).days
    if days == 0:
        return format_date(local, "H:i T")
    if days == 1:
        return "tomorrow " + format_date(local, "H:i T")
    if days == -1:
        return "yesterday " + format_date(local, "H:i T")
    return format_date(local, "M j, H:i T" if abs(days) < 180 else "M j, Y, H:i T")


@pytest.mark.parametrize("zone", ZONES)
def test_when_says_what_django_date_formatting_said(zone):
    clock.freeze(datetime(2026, 3, 10, 11, 7, tzinfo=zoneinfo.ZoneInfo("UTC")))
    offsets = [timedelta(minutes=m) for m in (0, 5, -90, 60 * 13, -60 * 11, 60 * 24, -60 * 30, 60 * 24 * 40)]
    offsets += [timedelta(days=d, minutes=7) for d in (-2, 3, 179, 200, -400, 700)]
    with timezone.override(zoneinfo.ZoneInfo(zone)):
        for offset in offsets:
            moment = clock.now() + offset
            assert when(moment) == reference_when(moment), (zone, offset)
    assert when(None) == ""


@pytest.mark.parametrize("zone", ZONES)
def test_iso_is_the_date_filter_c_in_the_users_zone(zone):
    moment = datetime(2026, 7, 1, 22, 30, 15, 123456, tzinfo=zoneinfo.ZoneInfo("UTC"))
    with timezone.override(zoneinfo.ZoneInfo(zone)):
        context = Context({"moment": moment, "nothing": None})
        ours = Template("{% load portal_ui %}{{ moment|iso }}|{{ nothing|iso }}").render(context)
        django = Template("{{ moment|date:'c' }}|{{ nothing|date:'c' }}").render(context)
    assert ours == django
    assert iso(None) == ""


def test_row_url_is_url_with_that_argument():
    ids = [uuid.uuid4() for _ in range(3)]  # after the first row, from the pattern
    template = Template(
        "{% load portal_ui %}{% for i in ids %}{% row_url 'requests_app:detail' i %}|{% url 'requests_app:detail' i %}"
        "|{% row_url 'helpdesk:extend' i %}|{% url 'helpdesk:extend' i %}|{% row_url 'helpdesk:user' n %}"
        "|{% url 'helpdesk:user' n %}|{% row_url 'requests_app:detail' s %}|{% url 'requests_app:detail' s %};"
        "{% endfor %}"
    )
    for row in template.render(Context({"ids": ids, "n": 42, "s": str(ids[0])})).split(";")[:-1]:
        ours_detail, detail, ours_extend, extend, ours_user, user, ours_str, by_str = row.split("|")
        assert (ours_detail, ours_extend, ours_user, ours_str) == (detail, extend, user, by_str)


@pytest.mark.parametrize(
    "text", ["", "short", "x" * 69, "x" * 70, "x" * 71, "y" * 300, "caf\u00e9 " * 20, "e\u0301" * 80, "<b>&</b>" * 12]
)
def test_clip_is_truncatechars(text):
    ours = Template("{% load portal_ui %}{{ text|clip:70 }}").render(Context({"text": text}))
    assert ours == Template("{{ text|truncatechars:70 }}").render(Context({"text": text}))
    assert clip(None, 70) == Template("{{ text|truncatechars:70 }}").render(Context({"text": None}))


OLD_BADGE = (
    '{% load portal_ui %}<span class="badge badge-{{ elevation.state|state_tone }}" data-state-badge>'
    '{% if elevation.state|is_changing %}<span class="spinner" aria-hidden="true"></span>{% endif %}'
    "{{ elevation.get_state_display }}</span>"
)


@pytest.mark.parametrize("state", list(State))
def test_the_state_badge_tag_writes_what_the_include_wrote(state):
    elevation = Elevation(state=state)
    assert state_badge(elevation) == Template(OLD_BADGE).render(Context({"elevation": elevation}))
    assert state_label(state) == elevation.get_state_display()
    assert ('class="spinner"' in state_badge(elevation)) == (state in CHANGING_STATES)


# ---------------------------------------------------------------------------------------------
# Permissions in one query
# ---------------------------------------------------------------------------------------------
def test_permissions_are_modelbackends_in_one_query(db, django_assert_num_queries):
    own = Permission.objects.get(codename="break_glass")
    helpdesk, auditor = Group.objects.get(name="helpdesk"), Group.objects.get(name="auditor")
    users = {
        "groups": User.objects.create(username="g", email="g@example.com"),
        "own": User.objects.create(username="o", email="o@example.com"),
        "both": User.objects.create(username="b", email="b@example.com"),
        "none": User.objects.create(username="n", email="n@example.com"),
        "inactive": User.objects.create(username="i", email="i@example.com", is_active=False),
        "superuser": User.objects.create(username="s", email="s@example.com", is_superuser=True),
    }
    users["groups"].groups.add(helpdesk, auditor)
    users["own"].user_permissions.add(own)
    users["both"].groups.add(helpdesk)
    users["both"].user_permissions.add(own)
    users["inactive"].groups.add(helpdesk)
    for name, user in users.items():
        expected = ModelBackend().get_all_permissions(User.objects.get(pk=user.pk))
        fresh = User.objects.get(pk=user.pk)
        # Superusers keep ModelBackend's path (has_perm() does not ask the backends for them).
        with django_assert_num_queries({"inactive": 0, "superuser": 2}.get(name, 1)):
            assert fresh.get_all_permissions() == expected, name
            fresh.has_perm("requests_app.act_for_others")
    assert users["both"].has_perm("requests_app.break_glass") and users["both"].has_perm("requests_app.view_device")
    assert not User.objects.get(pk=users["none"].pk).has_perm("requests_app.view_device")


def test_a_signed_in_user_comes_with_permissions_and_groups_in_one_query(db, django_assert_num_queries):
    helpdesk, auditor = Group.objects.get(name="helpdesk"), Group.objects.get(name="auditor")
    both = User.objects.create(username="b", email="b@example.com")
    both.groups.add(helpdesk, auditor)
    both.user_permissions.add(Permission.objects.get(codename="break_glass"))
    nobody = User.objects.create(username="n", email="n@example.com")
    boss = User.objects.create(username="s", email="s@example.com", is_superuser=True)
    backend = PortalAuthenticationBackend()
    for user in (both, nobody):
        groups = set(user.groups.values_list("pk", flat=True))
        with django_assert_num_queries(1):
            loaded = backend.get_user(user.pk)
            loaded.has_perm("requests_app.act_for_others")
            assert group_ids(loaded) == groups
        assert loaded.get_all_permissions() == ModelBackend().get_all_permissions(User.objects.get(pk=user.pk))
    assert backend.get_user(boss.pk).has_perm("requests_app.anything")  # superusers: Django's own answer
    User.objects.filter(pk=nobody.pk).update(is_active=False)
    assert backend.get_user(nobody.pk) is None and backend.get_user(10**9) is None


def test_the_embedded_sqlite_default_loads_the_same_permissions_and_groups(tmp_path):
    """`make run` runs on SQLite, where the one query has to work too."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env |= {"ELEVATE_VAR_DIR": str(tmp_path), "DATABASE_URL": ""}
    script = (
        "from django.contrib.auth.backends import ModelBackend; from django.contrib.auth.models import Group;"
        "from requests_app.auth.backends import PortalAuthenticationBackend, group_ids;"
        "from requests_app.models import User;"
        "u = User.objects.create(username='x', email='x@example.com');"
        "u.groups.add(Group.objects.get(name='helpdesk'), Group.objects.get(name='approver'));"
        "loaded = PortalAuthenticationBackend().get_user(u.pk);"
        "assert loaded.get_all_permissions() == ModelBackend().get_all_permissions(User.objects.get(pk=u.pk));"
        "assert len(loaded.get_all_permissions()) == 4 and len(group_ids(loaded)) == 2;"
        "print('same')"
    )
    for args in (["migrate", "-v0"], ["shell", "-c", script]):
        done = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("same")


# ---------------------------------------------------------------------------------------------
# Which policy applies
# ---------------------------------------------------------------------------------------------
@pytest.fixture
def policies(db, default_policy):
    common = {"allowed_durations": [15, 60], "max_duration_minutes": 60, "max_total_minutes": 120}
    servers = Group.objects.create(name="servers-team")
    return {
        "default": default_policy,
        "servers": Policy.objects.create(name="Servers", device_group="servers", priority=5, **common),
        "lab": Policy.objects.create(name="Lab", device_group="lab", priority=1, **common),
        "team": Policy.objects.create(name="Team", user_group=servers, priority=3, **common),
        "team-tie": Policy.objects.create(name="A team tie", device_group="lab", priority=3, **common),
        "unused": Policy.objects.create(name="Unused", device_group="elsewhere", priority=99, **common),
        "servers_team": servers,
    }


def test_the_most_specific_policy_applies(policies, employee, make_device):
    plain, server, lab, both = (
        make_device(employee, groups=groups) for groups in ([], ["servers"], ["lab"], ["lab", "servers"])
    )
    assert policy.policy_for(employee, plain) == policies["default"]
    assert policy.policy_for(employee, None) == policies["default"]
    assert policy.policy_for(employee, server) == policies["servers"]
    assert policy.policy_for(employee, lab) == policies["team-tie"]  # priority 3 beats 1
    assert policy.policy_for(employee, both) == policies["servers"]
    employee.groups.add(policies["servers_team"])
    assert policy.policy_for(employee, plain) == policies["team"]
    assert policy.policy_for(employee, lab) == policies["team-tie"]  # same priority: by name
    assert policy.policy_for(employee, server) == policies["servers"]


def test_one_chooser_answers_for_many_devices_in_two_queries(
    policies, employee, make_device, django_assert_num_queries
):
    devices = [make_device(employee, groups=g) for g in ([], ["servers"], ["lab"], ["lab", "servers"], ["x"])]
    employee.groups.add(policies["servers_team"])
    expected = [policy.policy_for(employee, d) for d in [*devices, None]]
    with django_assert_num_queries(2):
        chooser = policy.PolicyChooser(employee)
        assert [chooser(d) for d in [*devices, None]] == expected


def test_without_any_policy_the_built_in_default_applies(db, employee, make_device):
    rules = policy.policy_for(employee, make_device(employee))
    assert rules.pk is None and rules.name == policy.BUILT_IN_DEFAULT["name"]
