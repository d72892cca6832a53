from django.urls import path

from requests_app.evidence import views

app_name = "evidence"

urlpatterns = [
    path("", views.packs, name="packs"),
    path("<uuid:public_id>/row/", views.pack_row, name="row"),
    path("<uuid:public_id>/download/", views.download, name="download"),
]
