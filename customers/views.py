"""The portal: sign in, set a password from an emailed link, see your billing accounts."""

from django import forms
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.views.decorators.http import require_http_methods

from customers.invitations import send_new_link, set_password_tokens
from customers.provisioning import confirm_email_address


class SignInView(auth_views.LoginView):
    template_name = "customers/sign_in.html"
    redirect_authenticated_user = True


class SetPasswordView(auth_views.PasswordResetConfirmView):
    """The page every emailed link opens; choosing a password proves the address."""

    template_name = "customers/set_password.html"
    token_generator = set_password_tokens
    success_url = reverse_lazy("customers:set-password-done")

    def form_valid(self, form: forms.Form) -> HttpResponse:
        with transaction.atomic():
            response = super().form_valid(form)
            confirm_email_address(customer_id=self.user.pk)
        return response


class SetPasswordDoneView(auth_views.PasswordResetCompleteView):
    template_name = "customers/set_password_done.html"


class RequestLinkForm(forms.Form):
    email = forms.EmailField(max_length=254)


@require_http_methods(["GET", "POST"])
def request_link(request: HttpRequest) -> HttpResponse:
    """Mail a new set-password link; the answer never tells whether the address is known."""
    form = RequestLinkForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        send_new_link(email=form.cleaned_data["email"])
        return redirect("customers:request-link-sent")
    return render(request, "customers/request_link.html", {"form": form})


def request_link_sent(request: HttpRequest) -> HttpResponse:
    return render(request, "customers/request_link_sent.html")


@login_required
def billing_accounts(request: HttpRequest) -> HttpResponse:
    """The accounts the customer manages, and those waiting for them to confirm their address."""
    memberships = request.user.memberships.select_related("billing_account").order_by(
        "billing_account__account_number"
    )
    return render(
        request,
        "customers/billing_accounts.html",
        {
            "active": [m for m in memberships if m.is_active],
            "waiting": [m for m in memberships if not m.is_active],
        },
    )
