from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import path, re_path

from .views import account, deliveries, library, personalise, public, review, users

SLUG = r"[a-z0-9][a-z0-9-]{0,99}"

urlpatterns = [
    path("", library.index, name="library"),
    path("login/", account.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/", account.PasswordChangeView.as_view(), name="password_change"),
    re_path(rf"^library/(?P<clinic>{SLUG})/(?P<language>{SLUG})/(?P<name>{SLUG})\.pdf$", library.pdf,
            name="pdf"),
    re_path(rf"^library/(?P<clinic>{SLUG})/(?P<language>{SLUG})/(?P<name>{SLUG})\.png$", library.thumbnail,
            name="thumbnail"),
    re_path(rf"^library/(?P<clinic>{SLUG})/(?P<language>{SLUG})/(?P<name>{SLUG})/$", library.detail,
            name="document"),
    re_path(rf"^personalise/(?P<clinic>{SLUG})/(?P<language>{SLUG})/(?P<condition>{SLUG})/(?P<kind>{SLUG})/"
            rf"(?P<variant>{SLUG})/$", personalise.form, name="personalise"),
    path("review/", review.page, name="review"),
    path("deliveries/", deliveries.page, name="deliveries"),
    re_path(r"^deliveries/(?P<name>[A-Za-z0-9._-]{1,120}\.zip)$", deliveries.download, name="delivery"),
    path("users/", users.page, name="users"),
    path("users/add/", users.add, name="user_add"),
    path("users/<int:pk>/", users.detail, name="user"),
    path("users/<int:pk>/password/", users.reset_password, name="user_password"),
    path("users/<int:pk>/active/", users.set_active, name="user_active"),
    path("audit/", users.audit, name="audit"),
    path("admin/", admin.site.urls),
    re_path(rf"^brand/(?P<clinic>{SLUG})\.css$", public.brand, name="public_brand"),
    re_path(rf"^(?P<clinic>{SLUG})/(?P<language>{SLUG})/(?P<condition>{SLUG})/(?P<kind>{SLUG})/?$", public.page,
            name="public"),
    re_path(rf"^(?P<clinic>{SLUG})/(?P<language>{SLUG})/(?P<condition>{SLUG})/(?P<kind>{SLUG})/"
            r"(?P<variant>screen|large-print)\.pdf$", public.pdf, name="public_pdf"),
]

handler404 = "handouts.web.views.account.not_found"
