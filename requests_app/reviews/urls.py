from django.urls import path

from requests_app.reviews import views

app_name = "reviews"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("<uuid:public_id>/decide/", views.decide, name="decide"),
    path("raise/<str:token>/", views.raise_from_digest, name="raise"),
]
