from django.urls import path

from auditing.status import views

urlpatterns = [
    path("metrics", views.metrics_view, name="metrics"),
    path("status.json", views.status_json, name="status-json"),
]
