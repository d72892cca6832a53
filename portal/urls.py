from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.shortcuts import redirect
from django.templatetags.static import static
from django.urls import include, path

from portal import health
from requests_app.metrics import metrics_view

# The admin signs in through allauth too, so its MFA step and the local-login policy apply there.
admin.site.login = secure_admin_login(admin.site.login)  # type: ignore[method-assign]


def favicon(request):
    """Browsers ask for /favicon.ico whatever the page links to: the logo (resolved per request,
    as the static manifest names it)."""
    return redirect(static("img/elevate.svg"), permanent=True)


urlpatterns = [
    path("favicon.ico", favicon),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics_view, name="metrics"),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
    path("integrations/", include("requests_app.integrations.urls")),
    path("auth/", include("requests_app.auth.urls")),
    path("helpdesk/jumpcloud/", include("requests_app.providers.jumpcloud.urls")),
    path("sailpoint/", include("requests_app.providers.sailpoint.urls")),
    path("helpdesk/", include("requests_app.helpdesk.urls")),
    path("approvals/", include("requests_app.approvals.urls")),
    path("audit/insights/", include("requests_app.insights.urls")),
    path("audit/", include("requests_app.auditing.urls")),
    path("api/v1/", include("requests_app.api.urls")),
    path("settings/tokens/", include("requests_app.api.page_urls")),
    path("attestations/", include("requests_app.attestation.urls")),
    path("reviews/", include("requests_app.reviews.urls")),
    path("evidence/", include("requests_app.evidence.urls")),
    path("", include("requests_app.urls")),
]
