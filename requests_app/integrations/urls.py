from django.urls import path

from requests_app.integrations import views

app_name = "integrations"

urlpatterns = [
    path("jira/<uuid:public_id>/intake", views.jira_intake, name="jira_intake"),
    path("link/<str:token>/", views.action_link, name="link"),
    path("notifications/", views.notification_preferences, name="preferences"),
]
