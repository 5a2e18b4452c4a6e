from django.contrib import admin
from django.http import HttpRequest, JsonResponse
from django.urls import include, path


def health(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


admin.site.site_header = "JEMH mail handler"
admin.site.site_title = "JEMH mail handler"

urlpatterns = [
    path("admin/feedback/", include("notifications.urls")),  # before the admin's own catch-all
    path("admin/", admin.site.urls),
    path("support/", include("auditing.support.urls")),
    path("health/", health, name="health"),
    path("hooks/", include("notifications.webhooks.urls")),  # by name: jemh imports no other app
]
