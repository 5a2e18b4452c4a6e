"""A URLconf for one browser test: the project's URLs, plus the hostile HTML served *unsanitised* through the
frame response and shown in the sandboxed frame, to prove the frame alone executes and loads nothing."""

from django.http import HttpRequest, HttpResponse
from django.urls import path

from auditing.mailview import frame_response, sandboxed_frame
from jemh.urls import urlpatterns as project_urlpatterns
from tests.auditing.conftest import HOSTILE_HTML


def unsanitised(request: HttpRequest) -> HttpResponse:
    return frame_response(HOSTILE_HTML)


def host(request: HttpRequest) -> HttpResponse:
    return HttpResponse(f"<!DOCTYPE html><html><body><p>host</p>{sandboxed_frame('/test-frame/')}</body></html>")


urlpatterns = [path("test-frame/", unsanitised), path("test-host/", host), *project_urlpatterns]
