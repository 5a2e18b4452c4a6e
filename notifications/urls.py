"""Pages of the notifications app outside the model admins."""

from django.urls import path

from notifications.feedback import send_feedback

urlpatterns = [path("", send_feedback, name="feedback")]
