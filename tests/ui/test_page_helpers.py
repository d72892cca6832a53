"""Presentation helpers say what Django's own date formatting says, and the policy chooser
picks the most specific policy."""

from __future__ import annotations

import zoneinfo
from datetime import datetime, timedelta

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone
from django.utils.dateformat import format as format_date

from requests_app import clock, policy
from requests_app.models import Policy
from requests_app.templatetags.portal_ui import when

ZONES = ("UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata")


def reference_when(moment) -> str:
    """What the filter promises, spelled out with Django's date formatting."""
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
def test_when_shows_as_much_date_as_the_moment_needs_in_the_users_zone(zone):
    clock.freeze(datetime(2026, 3, 10, 11, 7, tzinfo=zoneinfo.ZoneInfo("UTC")))
    offsets = [timedelta(minutes=m) for m in (0, 5, -90, 60 * 13, -60 * 11, 60 * 24, -60 * 30, 60 * 24 * 40)]
    offsets += [timedelta(days=d, minutes=7) for d in (-2, 3, 179, 200, -400, 700)]
    with timezone.override(zoneinfo.ZoneInfo(zone)):
        for offset in offsets:
            moment = clock.now() + offset
            assert when(moment) == reference_when(moment), (zone, offset)
    assert when(None) == ""


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
