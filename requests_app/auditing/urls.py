from django.urls import path, re_path

from requests_app.auditing import views

app_name = "auditing"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    re_path(r"^export\.(?P<format>csv|jsonl)$", views.export, name="export"),
]
