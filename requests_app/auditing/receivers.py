"""Audit events for changes no service writes itself: role (group) membership and permissions,
privilege flags, failed sign-ins and admin sign-outs. Imported from requests_app/receivers.py,
which also registers the periodic verify task with the worker."""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.contrib.auth.signals import user_logged_out, user_login_failed
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save
from django.dispatch import receiver

from requests_app import audit
from requests_app.auditing import tasks  # noqa: F401  (registers requests_app.audit_verify)
from requests_app.models import User

PRIVILEGE_FLAGS = ("is_superuser", "is_staff", "is_active")
_M2M_VERBS = {"post_add": "added", "post_remove": "removed", "post_clear": "cleared"}


def _labels(model, pks) -> list[str]:
    if model is Group:
        return sorted(Group.objects.filter(pk__in=pks).values_list("name", flat=True))
    if model is Permission:
        rows = Permission.objects.filter(pk__in=pks).values_list("content_type__app_label", "codename")
        return sorted(f"{app}.{codename}" for app, codename in rows)
    return sorted(str(obj) for obj in model.objects.filter(pk__in=pks))


def _verb(action: str, pk_set) -> str | None:
    if action not in _M2M_VERBS or (action != "post_clear" and not pk_set):
        return None
    return _M2M_VERBS[action]


def _record_m2m(action: str, key: str, owner_model, member_model, instance, reverse: bool, pk_set) -> None:
    """One event per owner changed: from the forward side one owner (instance), from the reverse
    side (`group.user_set.add(...)`) every owner in pk_set."""
    if reverse:
        for owner in owner_model.objects.filter(pk__in=pk_set or ()):
            audit.record(action, target=owner, after={key: _labels(member_model, [instance.pk])})
    else:
        audit.record(action, target=instance, after={key: _labels(member_model, pk_set or ())})


@receiver(m2m_changed, sender=User.groups.through, dispatch_uid="audit_role_membership")
def audit_role_membership(sender, instance, action, reverse, model, pk_set, **kwargs):
    if verb := _verb(action, pk_set):
        _record_m2m(f"role.membership_{verb}", "roles", User, Group, instance, reverse, pk_set)


@receiver(m2m_changed, sender=Group.permissions.through, dispatch_uid="audit_role_permissions")
def audit_role_permissions(sender, instance, action, reverse, model, pk_set, **kwargs):
    if verb := _verb(action, pk_set):
        _record_m2m(f"role.permissions_{verb}", "permissions", Group, Permission, instance, reverse, pk_set)


@receiver(m2m_changed, sender=User.user_permissions.through, dispatch_uid="audit_user_permissions")
def audit_user_permissions(sender, instance, action, reverse, model, pk_set, **kwargs):
    if verb := _verb(action, pk_set):
        _record_m2m(f"user.permissions_{verb}", "permissions", User, Permission, instance, reverse, pk_set)


@receiver(post_save, sender=Group, dispatch_uid="audit_role_saved")
def audit_role_saved(sender, instance, created, raw=False, **kwargs):
    if not raw:
        audit.record(f"role.{'created' if created else 'changed'}", target=instance, after={"name": instance.name})


@receiver(post_delete, sender=Group, dispatch_uid="audit_role_deleted")
def audit_role_deleted(sender, instance, **kwargs):
    audit.record("role.deleted", target=instance, after={"name": instance.name})


@receiver(pre_save, sender=User, dispatch_uid="audit_privilege_flags")
def audit_privilege_flags(sender, instance, raw=False, update_fields=None, **kwargs):
    """Superuser, staff and active flags are roles too. Sign-ins save only last_login: skipped."""
    if raw or (update_fields is not None and not set(update_fields) & set(PRIVILEGE_FLAGS)):
        return
    if instance.pk is None:
        before = {"is_superuser": False, "is_staff": False, "is_active": True}
    else:
        before = User.objects.filter(pk=instance.pk).values(*PRIVILEGE_FLAGS).first() or {}
    changed = {
        flag: getattr(instance, flag)
        for flag in PRIVILEGE_FLAGS
        if before.get(flag, getattr(instance, flag)) != getattr(instance, flag)
    }
    if changed:
        # The event is written before the row; it is rolled back with it if the save fails.
        audit.record(
            "user.privileges_changed",
            target=instance if instance.pk else None,
            before={flag: before[flag] for flag in changed},
            after={"user": instance.email or instance.get_username(), **changed},
        )


@receiver(user_login_failed, dispatch_uid="audit_sign_in_failed")
def audit_sign_in_failed(sender, credentials, request=None, **kwargs):
    # Django already masked the secrets; keep only who was tried.
    identifier = next((str(credentials[k]) for k in ("email", "username", "login") if credentials.get(k)), "")
    audit.record("auth.sign_in_failed", after={"identifier": identifier[:255]})


@receiver(user_logged_out, dispatch_uid="audit_admin_sign_out")
def audit_admin_sign_out(sender, request, user, **kwargs):
    """allauth's own signal covers portal sign-outs (requests_app/receivers.py); /admin/logout/
    goes straight to Django's logout."""
    from django.urls import reverse

    if user is not None and request is not None and request.path == reverse("admin:logout"):
        audit.record("auth.sign_out", actor=user, target=user, after={"via": "admin"})
