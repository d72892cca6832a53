"""Password sign-in is the break-glass path: switchable off, and limited to break-glass admins."""

from __future__ import annotations

import functools

from allauth.account.auth_backends import AuthenticationBackend
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection


def local_login_allowed_for(user) -> bool:
    """May `user` sign in with a local password under the current settings?"""
    if not settings.ELEVATE_LOCAL_LOGIN:
        return False
    if settings.ELEVATE_LOCAL_LOGIN_FOR == "everyone":
        return True
    return user.is_superuser or user.has_perm("requests_app.break_glass")


class PortalAuthenticationBackend(AuthenticationBackend):
    """allauth's backend (e-mail + password, permissions) with the local-login policy on top.

    Every password check goes through here: allauth's sign-in form, the admin's login form and
    re-authentication. SSO sign-ins never call `authenticate`, so they are not affected.
    """

    def authenticate(self, request, **credentials):
        user = super().authenticate(request, **credentials)
        if user is not None and not local_login_allowed_for(user):
            return None  # the same answer as a wrong password: no account enumeration
        return user

    def get_all_permissions(self, user_obj, obj=None):
        """ModelBackend's answer in one query instead of two ORM queries (the user's own and their
        groups' permissions): every signed-in page checks a permission, for its navigation at
        least, and building those two queries cost more than running them."""
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None or user_obj.is_superuser:
            return super().get_all_permissions(user_obj, obj)
        if not hasattr(user_obj, "_perm_cache"):
            with connection.cursor() as cursor:
                cursor.execute(_permissions_sql(get_user_model()), [user_obj.pk, user_obj.pk])
                user_obj._perm_cache = {f"{app_label}.{codename}" for app_label, codename in cursor.fetchall()}
        return user_obj._perm_cache


@functools.cache
def _permissions_sql(user_model) -> str:
    """(app_label, codename) of the user's own permissions and their groups' (params: user id twice)."""
    q = connection.ops.quote_name

    def column(meta, field: str) -> str:
        return q(meta.get_field(field).column)

    own = user_model.user_permissions.through._meta
    member = user_model.groups.through._meta
    granted = Group.permissions.through._meta
    permission = Permission._meta
    # Table and column names come from the models' meta; the user id is a parameter.
    return (
        f"SELECT ct.{column(ContentType._meta, 'app_label')}, p.{column(permission, 'codename')}"  # noqa: S608
        f" FROM {q(permission.db_table)} p JOIN {q(ContentType._meta.db_table)} ct"
        f" ON ct.{column(ContentType._meta, 'id')} = p.{column(permission, 'content_type')}"
        f" WHERE p.{column(permission, 'id')} IN ("
        f"SELECT {column(own, 'permission')} FROM {q(own.db_table)} WHERE {column(own, 'user')} = %s"
        f" UNION SELECT g.{column(granted, 'permission')} FROM {q(granted.db_table)} g"
        f" JOIN {q(member.db_table)} m ON m.{column(member, 'group')} = g.{column(granted, 'group')}"
        f" WHERE m.{column(member, 'user')} = %s)"
    )
