"""Who reaches the after-use pages (overdue attestations, the review queue, evidence packs,
reason insights): every role, exactly. Anyone else gets a 403, as on every role's pages."""

from __future__ import annotations

import pytest

PAGES = ("/attestations/overdue/", "/reviews/", "/evidence/", "/audit/insights/")
# role -> the pages it reaches (200); every other page answers 403 (anonymous: sent to sign in).
REACHES = {
    "employee": set(),
    "approver": set(),
    "helpdesk": {"/attestations/overdue/"},
    "auditor": {"/reviews/", "/evidence/", "/audit/insights/"},
    "admin": set(PAGES),
}


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("role", ["anonymous", *REACHES])
def test_each_role_reaches_exactly_its_after_use_pages(role, page, client, request, staff_mfa, settings):
    settings.ELEVATE_AUDIT_SUMMARY_CACHE_SECONDS = 0  # else the insights it reads stay cached for later tests
    if role != "anonymous":
        client.force_login(request.getfixturevalue(role))
    response = client.get(page)
    if role == "anonymous":
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    else:
        assert response.status_code == (200 if page in REACHES[role] else 403)


@pytest.mark.parametrize("model", ["attestation", "reviewitem", "evidencepack"])
def test_the_admin_shows_after_use_rows_but_never_edits_them(model, admin_client, staff_mfa):
    assert admin_client.get(f"/admin/requests_app/{model}/").status_code == 200
    assert admin_client.get(f"/admin/requests_app/{model}/add/").status_code == 403
