from django.contrib.auth import views as auth_views
from django.urls import path

from customers import views

app_name = "customers"

urlpatterns = [
    path("", views.billing_accounts, name="billing-accounts"),
    path("sign-in/", views.SignInView.as_view(), name="sign-in"),
    path("sign-out/", auth_views.LogoutView.as_view(), name="sign-out"),
    path("set-password/<uidb64>/<token>/", views.SetPasswordView.as_view(), name="set-password"),
    path("set-password/done/", views.SetPasswordDoneView.as_view(), name="set-password-done"),
    path("new-link/", views.request_link, name="request-link"),
    path("new-link/sent/", views.request_link_sent, name="request-link-sent"),
]
