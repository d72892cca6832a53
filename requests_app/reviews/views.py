"""The auditors' review queue. Thin: selector -> form -> one service -> message -> respond."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from requests_app.errors import PortalError
from requests_app.models import Elevation
from requests_app.reviews import links, selectors, services
from requests_app.reviews.forms import DecisionForm, RaiseForm

PAGE_SIZE = 50
SERVICES = {
    "sign_off": services.review_sign_off,
    "flag": services.review_flag,
    "resolve": services.review_resolve,
}
DONE = {"sign_off": "Signed off.", "flag": "Flagged: it stays in the queue until resolved.", "resolve": "Resolved."}


def _reviewers_only(request) -> None:
    if not services.may_review(request.user):
        raise PermissionDenied("This page is for auditors.")  # 403, as every role's pages


def _view(data) -> str:
    view = data.get("view", "todo")
    return view if view in selectors.VIEWS else "todo"


@login_required
@require_GET
def queue(request):
    _reviewers_only(request)
    view = _view(request.GET)
    page = Paginator(selectors.queue(view), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"page": page, "view": view, "counts": selectors.counts(), "views": selectors.VIEWS}
    return render(request, "reviews/queue.html", context)


@login_required
@require_POST
def decide(request, public_id):
    _reviewers_only(request)
    item = selectors.item_by_public_id(public_id)
    if item is None:
        raise Http404("No such review.")
    form = DecisionForm(request.POST)
    notice, error = "", ""
    if not form.is_valid():
        error = "Choose sign off, flag or resolve; keep the comment under 2000 characters."
    else:
        decision = form.cleaned_data["decision"]
        try:
            item = SERVICES[decision](item=item, reviewer=request.user, comment=form.cleaned_data["comment"])
        except PortalError as exc:
            error = exc.message
        else:
            notice = DONE[decision]
    if request.htmx:
        item.refresh_from_db()
        context = {"item": item, "notice": notice, "error": error, "view": _view(request.POST)}
        item_html = render_to_string("reviews/queue.html#review-item", context, request)
        # The tab counts change with the decision: swapped out of band with the item.
        tabs_html = render_to_string(
            "reviews/queue.html#review-tabs", {**context, "counts": selectors.counts(), "oob": True}
        )
        return HttpResponse(item_html + tabs_html)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, notice)
    return redirect("reviews:queue")


@login_required
@require_http_methods(["GET", "POST"])
def raise_from_digest(request, token):
    """A manager's "this looks wrong" from their digest: confirm with a comment, then one POST."""
    try:
        link = links.read_raise_link(token)
        if link.manager_id != request.user.pk:
            raise links.LinkInvalid("This link was sent to someone else. Sign in as that person.")
    except links.LinkInvalid as exc:
        return render(request, "reviews/raise.html", {"problem": exc.message}, status=400)
    elevation = (
        Elevation.objects.select_related("beneficiary", "device").filter(public_id=link.elevation_public_id).first()
    )
    if elevation is None:
        raise Http404("No such elevation.")
    form = RaiseForm(request.POST if request.method == "POST" else None)
    if form.is_bound and form.is_valid():
        try:
            services.review_raise(elevation=elevation, raised_by=request.user, comment=form.cleaned_data["comment"])
        except PortalError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, "Thank you: the auditors will look at it.")
            return redirect("requests_app:my_elevations")
    return render(request, "reviews/raise.html", {"elevation": elevation, "form": form})
