from __future__ import annotations

from requests_app.permissions import ACT_FOR_OTHERS, APPROVE, VIEW_AUDIT


def portal(request):
    """Role flags for the navigation (the server checks permissions again on every action)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "is_helpdesk": user.has_perm(ACT_FOR_OTHERS),
        "is_approver": user.has_perm(APPROVE),
        "is_auditor": user.has_perm(VIEW_AUDIT),
    }
