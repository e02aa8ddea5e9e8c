"""Sign-in, invitations and the Settings pages: General, Members and Plan."""

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import redirect_to_login
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from orgs import forms, invitations, services, two_factor, two_factor_views
from orgs.models import Invitation, Membership, Organization, User
from orgs.tenancy import org_member_required, require


class EmailAuthenticationForm(AuthenticationForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["username"].label = "E-mail"
        self.fields["username"].widget.attrs.update(type="email", autocomplete="email")


class LoginView(auth_views.LoginView):
    form_class = EmailAuthenticationForm
    template_name = "orgs/login.html"
    redirect_authenticated_user = True

    def form_valid(self, form):
        user = form.get_user()
        if two_factor.has_two_factor(user):
            return two_factor_views.start_sign_in(self.request, user, self.get_success_url())
        return super().form_valid(form)

    def form_invalid(self, form):
        lock = getattr(self.request, "sign_in_lock", None)
        if lock is None:
            return super().form_invalid(form)
        response = self.render_to_response(
            self.get_context_data(form=form, lock_message=lock.message), status=429
        )
        response["Retry-After"] = str(lock.retry_after)
        return response


def admin_login(request):
    """The Django admin's sign-in page sends people to the product's."""
    return redirect_to_login(request.GET.get("next") or reverse("admin:index"))


@login_required
def home(request):
    """Send a person to their first organization's dashboard."""
    first = Organization.objects.for_user(request.user).first()
    if first is not None:
        return redirect("dashboard", first.slug)
    return render(request, "orgs/no_organization.html")


@org_member_required
def settings_general(request):
    membership = request.membership
    organization = request.organization
    form = forms.OrganizationForm(
        request.POST or None,
        initial={"name": organization.name, "timezone": organization.timezone},
    )
    if request.method == "POST":
        require(membership.can_manage_organization)
        if form.is_valid():
            if services.organization_update(organization=organization, **form.cleaned_data):
                messages.success(request, "Settings saved.")
            return redirect("settings_general", organization.slug)
    two_factor_form = forms.TwoFactorRequirementForm(
        initial={"requires_two_factor": organization.requires_two_factor}
    )
    return render(request, "orgs/settings_general.html",
                  {"form": form, "two_factor_form": two_factor_form, "section": "general"})


@org_member_required
def settings_members(request):
    membership = request.membership
    memberships = (
        Membership.objects.filter(organization=request.organization)
        .select_related("user")
        .prefetch_related("projects")
    )
    add_form = forms.MemberAddForm(organization=request.organization, acting=membership)
    if request.method == "POST":
        require(membership.can_manage_members)
        add_form = forms.MemberAddForm(
            request.POST, organization=request.organization, acting=membership
        )
        if add_form.is_valid():
            try:
                services.member_invite(
                    organization=request.organization, invited_by=request.user,
                    **add_form.cleaned_data,
                )
            except services.MembershipRefused as refusal:
                add_form.add_error("email", str(refusal))
            else:
                messages.success(
                    request, f"An invitation was e-mailed to {add_form.cleaned_data['email']}."
                )
                return redirect("settings_members", request.organization.slug)
    pending = request.organization.invitations.pending().select_related("invited_by")
    return render(
        request,
        "orgs/settings_members.html",
        {
            "memberships": [(m, membership.can_change_membership(m)) for m in memberships],
            "invitations": [(i, _may_handle(membership, i)) for i in pending],
            "add_form": add_form,
            "invitation_days": settings.INVITATION_MAX_AGE_DAYS,
            "section": "members",
        },
    )


def _may_handle(acting: Membership, invitation: Invitation) -> bool:
    """Who may hand out the invited role may resend or revoke the invitation."""
    return acting.can_manage_members and invitation.role in dict(acting.assignable_roles())


def _pending_invitation(request, invitation_id: int) -> Invitation:
    """A pending invitation of this organization the viewer may handle: 404 outside it, 403
    for a role that may not."""
    invitation = get_object_or_404(
        request.organization.invitations.pending(), pk=invitation_id
    )
    require(_may_handle(request.membership, invitation))
    return invitation


@require_POST
@org_member_required
def settings_invitation_resend(request, invitation_id: int):
    invitation = _pending_invitation(request, invitation_id)
    services.invitation_resend(invitation=invitation)
    messages.success(request, f"The invitation to {invitation.email} was sent again.")
    return redirect("settings_members", request.organization.slug)


@require_POST
@org_member_required
def settings_invitation_revoke(request, invitation_id: int):
    invitation = _pending_invitation(request, invitation_id)
    services.invitation_revoke(invitation=invitation)
    messages.success(request, f"The invitation to {invitation.email} was revoked.")
    return redirect("settings_members", request.organization.slug)


def invitation_accept(request, token: str):
    """The invitation link: choose a password (or, with an account, sign in) and join."""
    invitation = invitations.invitation_for(token)
    if invitation is None:
        return _invitation_invalid(request)
    organization = invitation.organization
    existing = User.objects.by_email(invitation.email)
    has_account = existing is not None and existing.has_usable_password()
    if has_account and request.user != existing:
        # Someone with an account proves it is theirs by signing in as that account.
        return render(request, "orgs/account_message.html", {
            "title": f"Join {organization.name}",
            "text": f"You already have an account as {invitation.email}: sign in to join.",
            "link_url": f"{reverse('login')}?{urlencode({'next': request.path})}",
            "link_label": "Sign in",
        })
    form = None if has_account else forms.ChoosePasswordForm(
        existing or User(email=invitation.email), request.POST or None
    )
    if request.method == "POST" and (form is None or form.is_valid()):
        try:
            with transaction.atomic():
                user = existing if form is None else services.account_for_invitation(
                    invitation=invitation, password=form.cleaned_data["new_password1"])
                services.invitation_accept(invitation=invitation, user=user)
        except services.InvitationUsed:
            return _invitation_invalid(request)
        if form is not None:
            login(request, user, backend="orgs.auth.EmailBackend")
        messages.success(request, f"Welcome to {organization.name}.")
        return redirect("dashboard", organization.slug)
    role = invitation.get_role_display().lower()
    return render(request, "orgs/account_form.html", {
        "title": f"Join {organization.name}",
        "intro": f"You were invited as {role}. " + (
            "" if form is None else f"Choose a password for {invitation.email}."),
        "form": form,
        "submit_label": "Join" if form is None else "Set password and join",
    })


def _invitation_invalid(request):
    return render(request, "orgs/account_message.html", {
        "title": "This invitation link does not work",
        "text": "It has expired, was already used, or was revoked or sent again. Ask an "
                "admin of the organization for a new invitation.",
    }, status=404)


@org_member_required
def settings_member_edit(request, membership_id: int):
    acting = request.membership
    require(acting.can_manage_members)
    member = _changeable_member(request, membership_id)
    role_form = forms.MemberRoleForm(initial={"role": member.role}, acting=acting)
    projects_form = forms.MemberProjectsForm(
        initial={"projects": member.projects.all()}, organization=request.organization
    )
    if request.method == "POST":
        if "role" in request.POST:
            role_form = forms.MemberRoleForm(request.POST, acting=acting)
            if role_form.is_valid():
                role = role_form.cleaned_data["role"]
                try:
                    changed = services.member_change_role(membership=member, role=role)
                except services.MembershipRefused as refusal:
                    role_form.add_error("role", str(refusal))
                else:
                    if changed:
                        messages.success(request, f"{member.user.email} is now {role}.")
                    return redirect("settings_members", request.organization.slug)
        else:
            projects_form = forms.MemberProjectsForm(
                request.POST, organization=request.organization
            )
            if projects_form.is_valid():
                if services.member_set_projects(
                    membership=member, projects=projects_form.cleaned_data["projects"]
                ):
                    messages.success(request, f"Projects of {member.user.email} saved.")
                return redirect("settings_members", request.organization.slug)
    return render(
        request,
        "orgs/settings_member_edit.html",
        {
            "member": member,
            "role_form": role_form,
            "projects_form": projects_form,
            "section": "members",
        },
    )


@org_member_required
def settings_member_remove(request, membership_id: int):
    """A page that asks first, as deleting a project does; its POST removes."""
    member = _changeable_member(request, membership_id)
    removing_self = member.pk == request.membership.pk  # before delete() clears member.pk
    if request.method == "POST":
        try:
            if services.member_remove(membership=member):
                messages.success(request, f"{member.user.email} was removed.")
        except services.MembershipRefused as refusal:
            messages.error(request, str(refusal))
        if removing_self:
            return redirect("home")
        return redirect("settings_members", request.organization.slug)
    return render(
        request,
        "orgs/settings_member_remove.html",
        {"member": member, "removing_self": removing_self, "section": "members"},
    )


def _changeable_member(request, membership_id: int) -> Membership:
    """A membership of this organization that the viewer may change: 404 outside it, 403
    when the viewer's role does not allow it."""
    member = get_object_or_404(
        Membership.objects.select_related("user", "organization"),
        pk=membership_id,
        organization=request.organization,
    )
    require(request.membership.can_change_membership(member))
    return member


@org_member_required
def settings_plan(request):
    membership = request.membership
    form = forms.PlanForm(request.POST or None, initial={"plan": request.organization.plan})
    if request.method == "POST":
        require(membership.can_change_plan)
        if form.is_valid():
            if services.organization_change_plan(
                organization=request.organization, plan=form.cleaned_data["plan"]
            ):
                messages.success(request, "Plan changed.")
            return redirect("settings_plan", request.organization.slug)
    return render(request, "orgs/settings_plan.html", {"form": form, "section": "plan"})
