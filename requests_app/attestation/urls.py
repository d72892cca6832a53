from django.urls import path

from requests_app.attestation import views

app_name = "attestation"

urlpatterns = [
    path("overdue/", views.overdue, name="overdue"),
    path("<uuid:public_id>/", views.attest, name="attest"),
]
