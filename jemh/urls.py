from django.contrib import admin
from django.http import HttpRequest, JsonResponse
from django.urls import include, path
from django.views.generic import RedirectView


def health(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


admin.site.site_header = "JEMH mail handler"
admin.site.site_title = "JEMH mail handler"
# "View site": there is no public site; the admin's index (the dashboard) is what a person opening the server wants.
admin.site.site_url = "/admin/"

urlpatterns = [
    path("admin/feedback/", include("notifications.urls")),  # before the admin's own catch-all
    path("admin/", admin.site.urls),
    path("support/", include("auditing.support.urls")),
    path("health/", health, name="health"),
    path("", RedirectView.as_view(url="/admin/", permanent=False), name="home"),
    path("hooks/", include("notifications.webhooks.urls")),  # by name: jemh imports no other app
]
