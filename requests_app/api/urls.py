from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

from requests_app.api.views import audit, elevations, me, staff

app_name = "api"


def public(view_class, **kwargs):
    """The schema and docs need no token (they describe the API, they hold no data). The Swagger UI
    view is the split one: its start-up script is a file of its own, so a CSP without inline
    scripts still runs it."""
    return view_class.as_view(authentication_classes=[], permission_classes=[], throttle_classes=[], **kwargs)


urlpatterns = [
    path("schema", public(SpectacularAPIView), name="schema"),
    path("docs", public(SpectacularSwaggerSplitView, url_name="api:schema"), name="docs"),
    path("redoc", public(SpectacularRedocView, url_name="api:schema"), name="redoc"),
    path("me", me.Me.as_view(), name="me"),
    path("devices", elevations.DeviceList.as_view(), name="devices"),
    path("policies", elevations.PolicyList.as_view(), name="policies"),
    path("elevations", elevations.ElevationList.as_view(), name="elevations"),
    path("elevations/<uuid:public_id>", elevations.ElevationDetail.as_view(), name="elevation"),
    path("elevations/<uuid:public_id>/extend", elevations.ElevationExtend.as_view(), name="extend"),
    path("elevations/<uuid:public_id>/revoke", elevations.ElevationRevoke.as_view(), name="revoke"),
    path("approvals", staff.ApprovalQueue.as_view(), name="approvals"),
    path("approvals/<uuid:public_id>/approve", staff.Approve.as_view(), name="approve"),
    path("approvals/<uuid:public_id>/deny", staff.Deny.as_view(), name="deny"),
    path("helpdesk/people", staff.PeopleSearch.as_view(), name="people"),
    path("helpdesk/devices", staff.DeviceSearch.as_view(), name="device-search"),
    path("helpdesk/grants", staff.Grant.as_view(), name="grant"),
    path("helpdesk/bulk-revoke", staff.BulkRevoke.as_view(), name="bulk-revoke"),
    path("audit/events", audit.AuditEvents.as_view(), name="audit-events"),
    path("audit/export.<str:format>", audit.AuditExport.as_view(), name="audit-export"),
]
