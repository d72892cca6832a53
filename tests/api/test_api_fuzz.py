"""Schemathesis drives every operation of the published schema against a live server with a
token holding every scope: no answer may be a 5xx or break the schema (status, content type,
body, headers).

The operations are walked here rather than through `schemathesis.pytest.from_fixture`, whose
node renaming reads a pytest attribute that pytest 9 no longer has."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from requests_app.api.tokens import token_create

pytestmark = pytest.mark.django_db(transaction=True)
EXAMPLES = 12


@pytest.fixture
def full_token(admin, with_mfa, make_device, employee, make_elevation):
    """An admin with MFA (every scope) in a world with devices and elevations to find."""
    with_mfa(admin)
    make_elevation(employee, make_device(employee, admin, hostname="shared-host"))
    make_device(admin, hostname="ada-laptop")
    _, secret = token_create(user=admin, name="fuzz", scopes=["read", "request", "approve", "helpdesk", "audit"])
    return secret


def test_no_server_error_and_no_schema_violation(live_server, full_token, settings):
    settings.ELEVATE_API_RATE = "100000/min"
    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/v1/schema?format=json")
    headers = {"Authorization": f"Bearer {full_token}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15

    answered: dict[str, set[int]] = {}
    for operation in operations:

        @given(case=operation.as_strategy())
        @hypothesis_settings(
            max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        def call(case):
            response = case.call_and_validate(
                base_url=live_server.url, headers=headers, excluded_checks=[positive_data_acceptance]
            )
            answered.setdefault(case.operation.label, set()).add(response.status_code)

        call()

    # The token worked: every operation answered something other than 401 at least once.
    assert all(statuses - {401} for statuses in answered.values()), answered
