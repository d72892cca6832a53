from django.urls import path

from requests_app.auth import views

app_name = "portal_auth"

urlpatterns = [
    path("step-up/", views.step_up, name="step_up"),
    path("settings/", views.account_settings, name="settings"),
]
