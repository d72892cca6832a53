from django.urls import path

from requests_app.helpdesk import views

app_name = "helpdesk"

urlpatterns = [
    path("", views.console, name="console"),
    path("users/<int:user_id>/", views.user_page, name="user"),
    path("users/<int:user_id>/grant/", views.grant, name="grant"),
    path("users/<int:user_id>/break-glass/", views.break_glass, name="break_glass"),
    path("users/<int:user_id>/revoke-all/", views.revoke_all_for_user, name="revoke_all_user"),
    path("devices/<uuid:public_id>/", views.device_page, name="device"),
    path("devices/<uuid:public_id>/revoke-all/", views.revoke_all_for_device, name="revoke_all_device"),
    path("elevations/<uuid:public_id>/row/", views.elevation_row, name="row"),
    path("elevations/<uuid:public_id>/extend/", views.extend, name="extend"),
    path("elevations/<uuid:public_id>/revoke/", views.revoke, name="revoke"),
    path("elevations/<uuid:public_id>/reviewed/", views.mark_reviewed, name="mark_reviewed"),
]
