"""Callout URLs, mounted under /api/v1/zuora/callouts/ by config/urls.py.

A trailing slash is accepted too: Zuora does not follow redirects, so a URL
typed with one in a callout template would otherwise never be delivered.
"""

from django.urls import re_path

from billing.callouts import views

app_name = "callouts"

urlpatterns = [
    re_path(r"^sync_account/?\Z", views.sync_account, name="sync_account"),
    re_path(r"^sync_account_contact/?\Z", views.sync_account_contact, name="sync_account_contact"),
]
