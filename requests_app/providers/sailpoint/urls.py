from django.urls import path

from requests_app.providers.sailpoint import views

app_name = "sailpoint"

urlpatterns = [
    path("", views.connections, name="connections"),
    path("callback/", views.callback, name="callback"),
    path("<uuid:public_id>/connect/", views.connect, name="connect"),
    path("authorizations/<uuid:public_id>/disconnect/", views.disconnect, name="disconnect"),
]
