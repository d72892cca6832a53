from django.urls import path

from requests_app import views

app_name = "requests_app"

urlpatterns = [
    path("", views.my_elevations, name="my_elevations"),
    path("request/", views.request_elevation, name="request"),
    path("elevations/<uuid:public_id>/", views.elevation_detail, name="detail"),
    path("elevations/<uuid:public_id>/row/", views.elevation_row, name="row"),
    path("elevations/<uuid:public_id>/extend/", views.extend_elevation, name="extend"),
    path("elevations/<uuid:public_id>/revoke/", views.revoke_elevation, name="revoke"),
]
