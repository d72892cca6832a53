import pytest

from requests_app.models import Policy


@pytest.fixture
def approval_policy(default_policy):
    """The default policy, now asking for one approval above 15 minutes."""
    Policy.objects.filter(pk=default_policy.pk).update(requires_approval=True, auto_approve_up_to_minutes=15)
    default_policy.refresh_from_db()
    return default_policy


@pytest.fixture
def person(db):
    """Make a user in the named role groups: person("lee@example.com", "employee")."""
    from django.contrib.auth.models import Group

    from requests_app.models import User
    from requests_app.roles import ensure_roles

    def make(email, *roles, **fields):
        ensure_roles()
        user = User.objects.create_user(username=email, email=email, password="pw-" + email, **fields)
        user.groups.set(Group.objects.filter(name__in=roles))
        return User.objects.get(pk=user.pk)

    return make
