"""Failed sign-ins lock the account tried, not everyone behind the same address (issue 17, item 9)."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client

from helpers import make_persona

LOGIN = "/accounts/login/"


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()  # allauth counts attempts in the cache; each test starts from none
    yield
    cache.clear()


def _sign_in(client: Client, email: str, password: str):
    return client.post(LOGIN, {"login": email, "password": password})


@pytest.mark.django_db
def test_twenty_failures_for_one_account_do_not_lock_out_another_from_the_same_address():
    victim = make_persona("vic@example.com", "employee")
    make_persona("target@example.com", "employee")
    attacker = Client(REMOTE_ADDR="10.0.0.7")
    for _ in range(20):
        _sign_in(attacker, "target@example.com", "wrong")

    colleague = Client(REMOTE_ADDR="10.0.0.7")  # the same shared proxy
    response = _sign_in(colleague, victim.email, "pw-" + victim.email)

    assert response.status_code == 302
    assert colleague.session.get("_auth_user_id") == str(victim.pk)


@pytest.mark.django_db
def test_an_account_is_locked_after_five_failures_even_with_the_right_password():
    user = make_persona("target@example.com", "employee")
    attacker = Client(REMOTE_ADDR="10.0.0.8")
    for _ in range(5):
        _sign_in(attacker, user.email, "wrong")

    elsewhere = Client(REMOTE_ADDR="10.0.0.9")
    response = _sign_in(elsewhere, user.email, "pw-" + user.email)

    assert response.status_code in (200, 429)
    assert "_auth_user_id" not in elsewhere.session
