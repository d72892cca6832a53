from django.urls import path

from requests_app.insights import views

app_name = "insights"

urlpatterns = [path("", views.reason_insights, name="reasons")]
