from django.urls import path

from requests_app.integrations import views
from requests_app.integrations.slack_app import views as slack_views

app_name = "integrations"

urlpatterns = [
    path("jira/<uuid:public_id>/intake", views.jira_intake, name="jira_intake"),
    path("link/<str:token>/", views.action_link, name="link"),
    path("notifications/", views.notification_preferences, name="preferences"),
    path("slack/command", slack_views.command, name="slack_command"),
    path("slack/interaction", slack_views.interaction, name="slack_interaction"),
]
