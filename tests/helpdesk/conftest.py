import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret


def give_mfa(user):
    TOTP.activate(user, generate_totp_secret())
    return user


@pytest.fixture
def staff_mfa(helpdesk, admin):
    """Helpdesk and admin have MFA set up (their roles require it for the console)."""
    give_mfa(helpdesk)
    give_mfa(admin)


@pytest.fixture
def with_mfa():
    return give_mfa
