"""Pages of one's own account under /accounts/: invitations, passwords, two-factor sign-in."""

from django.urls import path

from orgs import passwords, two_factor_views, views

urlpatterns = [
    path("invitation/<str:token>/", views.invitation_accept, name="invitation_accept"),
    path("two-factor/", two_factor_views.two_factor_page, name="two_factor"),
    path("sign-in/code/", two_factor_views.sign_in_step, name="sign_in_two_factor"),
    path("password/change/", passwords.PasswordChangeView.as_view(), name="password_change"),
    path("password/reset/", passwords.PasswordResetView.as_view(), name="password_reset"),
    path(
        "password/reset/sent/",
        passwords.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "password/reset/<uidb64>/<token>/",
        passwords.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password/reset/done/",
        passwords.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
]
