"""URLs of the support views, included under ``/support/`` with the namespace ``support``."""

from django.urls import path

from auditing.support import views

app_name = "support"
urlpatterns = [
    path("", views.flag_list, name="flags"),
    path("login/", views.SupportLoginView.as_view(), name="login"),
    path("logout/", views.SupportLogoutView.as_view(), name="logout"),
    path("<int:flag_id>/", views.flag_item, name="item"),
    path("<int:flag_id>/html/", views.flag_html, name="html"),
    path("<int:flag_id>/mail.eml", views.flag_eml, name="eml"),
    path("<int:flag_id>/profile.json", views.flag_profile, name="profile"),
]
