"""URLs of the webhook intake (included under ``hooks/`` by :mod:`jemh.urls`)."""

from django.urls import path

from notifications.webhooks.views import jira_webhook

urlpatterns = [
    path("jira/<str:token>/", jira_webhook, name="jira-webhook"),
]
