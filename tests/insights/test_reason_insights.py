"""Reason insights: kinds of reasons per device group and software named, by a method that can
be checked by hand, on the audit dashboard."""

from __future__ import annotations

import pytest

from requests_app.auditing.filters import AuditFilterForm
from requests_app.insights import reasons, selectors


@pytest.mark.parametrize(
    ("reason", "kind", "software"),
    [
        ("Install the Docker Desktop app for the build", "Development tools", "docker desktop"),
        ("install zoom", "Install software", "zoom"),
        ("Update Zoom to 6.1", "Update or upgrade", "zoom"),
        ("Upgrade node 20.11 for the frontend", "Update or upgrade", "node"),
        ("Uninstall the old McAfee agent", "Uninstall or remove", "mcafee agent"),
        ("Printer driver for the 3rd floor", "Drivers and printers", ""),
        ("VPN certificate expired, need to re-import", "Network and VPN", ""),
        ("Quarterly audit prep", "Other", ""),
        ("", "Other", ""),
    ],
)
def test_a_reason_reads_as_a_kind_and_the_software_it_names(reason, kind, software):
    assert reasons.read(reason) == reasons.Reading(kind, software)


def test_a_tie_goes_to_the_kind_listed_first():
    assert reasons.kind_of(["install", "driver"]) == "Install software"


@pytest.fixture
def period_filters(db):
    form = AuditFilterForm({})
    assert form.is_valid()
    return form.filters()


def test_kinds_are_counted_per_device_group_and_software_per_person(
    employee, outsider, make_device, make_elevation, period_filters
):
    design = make_device(employee, hostname="mac-1", groups=["Design"])
    shared = make_device(employee, outsider, hostname="mac-2", groups=["Design", "Engineering"])
    make_elevation(employee, design, reason="Install Figma fonts")
    make_elevation(employee, shared, reason="install figma", state="expired")
    make_elevation(outsider, shared, reason="Install Figma")
    make_elevation(outsider, make_device(outsider, hostname="pc-9"), reason="Fix the broken printer")
    insights = selectors.compute(period_filters)
    assert insights.analysed == 4
    by_group = {row.group: row for row in insights.groups}
    assert by_group["Design"].total == 3 and by_group["Design"].kinds == [("Install software", 3)]
    assert by_group["Engineering"].kinds == [("Install software", 2)]
    assert by_group[selectors.NO_GROUP].kinds == [("Troubleshooting", 1)]
    top = insights.software[0]
    assert (top.name, top.count, top.people) == ("figma", 2, 2)
    assert top.groups[0] == "Design"
    assert [s.name for s in insights.software] == ["figma", "figma fonts"]


def test_the_dashboard_loads_the_insights_and_the_partial_shows_them(
    auditor_client, employee, make_device, make_elevation, settings
):
    settings.ELEVATE_AUDIT_SUMMARY_CACHE_SECONDS = 0
    make_elevation(employee, make_device(employee, groups=["Sales"]), reason="Install Salesforce plugin")
    dashboard = auditor_client.get("/audit/").content.decode()
    assert 'hx-get="/audit/insights/?' in dashboard
    partial = auditor_client.get("/audit/insights/", HTTP_HX_REQUEST="true").content.decode()
    assert partial.lstrip().startswith('<section id="reason-insights"')
    assert "salesforce plugin" in partial and "Sales" in partial
    assert "<html" in auditor_client.get("/audit/insights/").content.decode()


def test_insights_are_for_auditors_only_and_bad_filters_are_refused(employee_client, auditor_client):
    assert employee_client.get("/audit/insights/").status_code == 403
    assert auditor_client.get("/audit/insights/?date_from=2026-12-05&date_to=2026-12-01").status_code == 400
    assert auditor_client.post("/audit/insights/").status_code == 405
