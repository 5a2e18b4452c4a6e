from django.contrib import admin
from django.urls import include, path, re_path
from django.views.generic import RedirectView

from jemh import health

admin.site.site_header = "JEMH mail handler"
admin.site.site_title = "JEMH mail handler"
# "View site": there is no public site; the admin's index (the dashboard) is what a person opening the server wants.
admin.site.site_url = "/admin/"

urlpatterns = [
    path("admin/feedback/", include("notifications.urls")),  # before the admin's own catch-all
    path("admin/", admin.site.urls),
    path("support/", include("auditing.support.urls")),
    re_path(r"^health/live/?$", health.live, name="health-live"),
    re_path(r"^health/ready/?$", health.ready, name="health-ready"),
    path("health/", health.ready, name="health"),  # the readiness check, under its old address
    path("", RedirectView.as_view(url="/admin/", permanent=False), name="home"),
    path("hooks/", include("notifications.webhooks.urls")),  # by name: jemh imports no other app
    path("", include("auditing.status.urls")),  # /metrics and /status.json
]
