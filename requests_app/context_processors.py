from __future__ import annotations


def portal(request):
    """Role flags for the navigation (the server checks permissions again on every action)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "is_helpdesk": user.has_perm("requests_app.act_for_others"),
        "is_approver": user.has_perm("requests_app.approve_elevation"),
        "is_auditor": user.has_perm("requests_app.view_audit"),
    }
