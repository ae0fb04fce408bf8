"""Sign up, log in, log out and password reset (Django's auth views, the portal's templates)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import login
from django.contrib.auth import views as auth
from django.urls import reverse_lazy
from django.views.generic import FormView

from portal.forms import LogInForm, SignUpForm


class SignUpView(FormView):
    template_name = "portal/signup.html"
    form_class = SignUpForm
    success_url = reverse_lazy("portal:home")

    def form_valid(self, form):
        user = form.save()
        login(self.request, user, backend="django.contrib.auth.backends.ModelBackend")
        return super().form_valid(form)


class LogInView(auth.LoginView):
    template_name = "portal/login.html"
    authentication_form = LogInForm
    redirect_authenticated_user = True


class LogOutView(auth.LogoutView):
    """POST only (Django 5): a link cannot log anybody out."""


class PasswordResetView(auth.PasswordResetView):
    """The link in the email is on OPENPICKER_BASE_URL, never on the request's Host header."""

    template_name = "portal/password_reset.html"
    email_template_name = "portal/password_reset_email.txt"
    subject_template_name = "portal/password_reset_subject.txt"
    success_url = reverse_lazy("portal:password-reset-done")

    def form_valid(self, form):
        self.extra_email_context = {"base_url": settings.OPENPICKER_BASE_URL}
        return super().form_valid(form)


class PasswordResetDoneView(auth.PasswordResetDoneView):
    template_name = "portal/password_reset_done.html"


class PasswordResetConfirmView(auth.PasswordResetConfirmView):
    template_name = "portal/password_reset_confirm.html"
    success_url = reverse_lazy("portal:password-reset-complete")


class PasswordResetCompleteView(auth.PasswordResetCompleteView):
    template_name = "portal/password_reset_complete.html"
