from django.urls import path

from requests_app.providers.jumpcloud import views

app_name = "jumpcloud"

urlpatterns = [
    path("groups/elevate/", views.group_elevation, name="group_elevation"),
]
