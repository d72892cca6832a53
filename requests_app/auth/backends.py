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

    def get_user(self, user_id):
        """ModelBackend's user, with their permissions and group ids from the same query: every
        signed-in page checks permissions (its navigation at least) and the request form needs the
        groups (policies), and a query of their own each cost more to build and run than the user's.
        Superusers and inactive users keep Django's own path (their permissions are not these)."""
        user_model = get_user_model()
        user = next(iter(user_model._default_manager.raw(_user_sql(user_model), [user_id])), None)
        if user is None or not self.user_can_authenticate(user):
            return None
        if user.is_active and not user.is_superuser:
            user._perm_cache = set(user.elevate_permissions.split()) if user.elevate_permissions else set()
        user.elevate_group_ids = {int(pk) for pk in (user.elevate_groups or "").split()}
        return user

    def get_all_permissions(self, user_obj, obj=None):
        """ModelBackend's answer in one query instead of two ORM queries (the user's own and their
        groups' permissions), for users not loaded by get_user (which reads them with the user)."""
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None or user_obj.is_superuser:
            return super().get_all_permissions(user_obj, obj)
        if not hasattr(user_obj, "_perm_cache"):
            with connection.cursor() as cursor:
                cursor.execute(_permissions_sql(get_user_model()), [user_obj.pk, user_obj.pk])
                user_obj._perm_cache = {f"{app_label}.{codename}" for app_label, codename in cursor.fetchall()}
        return user_obj._perm_cache


def group_ids(user) -> set[int]:
    """The ids of the user's groups: as read with the user by get_user (a request's user, like
    its permissions), else queried now."""
    if hasattr(user, "elevate_group_ids"):
        return user.elevate_group_ids
    return set(type(user).groups.through.objects.filter(user_id=user.pk).values_list("group_id", flat=True))


def _q():
    return connection.ops.quote_name


def _column(meta, field: str) -> str:
    return _q()(meta.get_field(field).column)


@functools.cache
def _permissions_sql(user_model) -> str:
    """(app_label, codename) of the user's own permissions and their groups' (params: user id twice)."""
    ct = ContentType._meta
    return (
        f"SELECT ct.{_column(ct, 'app_label')}, p.{_column(Permission._meta, 'codename')}"
        f" {_permissions_from(user_model, '%s')}"
    )


def _permissions_from(user_model, user_ref: str) -> str:
    """FROM and WHERE of the permissions of the user `user_ref` (a parameter or a column)."""
    q = _q()
    own = user_model.user_permissions.through._meta
    member = user_model.groups.through._meta
    granted = Group.permissions.through._meta
    permission, ct = Permission._meta, ContentType._meta
    # Table and column names come from the models' meta; the user is a parameter or a column.
    return (
        f"FROM {q(permission.db_table)} p JOIN {q(ct.db_table)} ct"  # noqa: S608
        f" ON ct.{_column(ct, 'id')} = p.{_column(permission, 'content_type')}"
        f" WHERE p.{_column(permission, 'id')} IN ("
        f"SELECT {_column(own, 'permission')} FROM {q(own.db_table)} WHERE {_column(own, 'user')} = {user_ref}"
        f" UNION SELECT g.{_column(granted, 'permission')} FROM {q(granted.db_table)} g"
        f" JOIN {q(member.db_table)} m ON m.{_column(member, 'group')} = g.{_column(granted, 'group')}"
        f" WHERE m.{_column(member, 'user')} = {user_ref})"
    )


@functools.cache
def _user_sql(user_model) -> str:
    """The user row (param: its id) plus two space-separated lists: elevate_permissions
    ("app_label.codename") and elevate_groups (ids)."""
    q = _q()
    meta, member = user_model._meta, user_model.groups.through._meta
    permission, ct = Permission._meta, ContentType._meta
    # string_agg is PostgreSQL's name for what SQLite (the embedded default) calls group_concat.
    agg = "string_agg" if connection.vendor == "postgresql" else "group_concat"
    user_id = f"u.{_column(meta, 'id')}"
    perm = f"ct.{_column(ct, 'app_label')} || '.' || p.{_column(permission, 'codename')}"
    groups = f"CAST(m.{_column(member, 'group')} AS VARCHAR(20))"
    return (
        f"SELECT u.*, (SELECT {agg}({perm}, ' ') {_permissions_from(user_model, user_id)}) AS elevate_permissions,"  # noqa: S608
        f" (SELECT {agg}({groups}, ' ') FROM {q(member.db_table)} m WHERE m.{_column(member, 'user')} = {user_id})"
        f" AS elevate_groups FROM {q(meta.db_table)} u WHERE {user_id} = %s"
    )
