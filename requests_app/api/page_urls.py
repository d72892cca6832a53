from django.urls import path

from requests_app.api import pages

app_name = "tokens"

urlpatterns = [
    path("", pages.token_list, name="list"),
    path("new", pages.token_create, name="create"),
    path("<uuid:public_id>/revoke", pages.token_revoke, name="revoke"),
]
