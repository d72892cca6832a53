"""The auditors' review queue. Thin: selector -> form -> one service -> message -> respond."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from requests_app.errors import PortalError
from requests_app.reviews import selectors, services
from requests_app.reviews.forms import DecisionForm

PAGE_SIZE = 50
SERVICES = {
    "sign_off": services.review_sign_off,
    "flag": services.review_flag,
    "resolve": services.review_resolve,
}
DONE = {"sign_off": "Signed off.", "flag": "Flagged: it stays in the queue until resolved.", "resolve": "Resolved."}


def _reviewer_or_404(request) -> None:
    if not services.may_review(request.user):
        raise Http404("No such page.")


@login_required
@require_GET
def queue(request):
    _reviewer_or_404(request)
    view = request.GET.get("view", "todo")
    view = view if view in selectors.VIEWS else "todo"
    page = Paginator(selectors.queue(view), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"page": page, "view": view, "counts": selectors.counts(), "views": selectors.VIEWS}
    return render(request, "reviews/queue.html", context)


@login_required
@require_POST
def decide(request, public_id):
    _reviewer_or_404(request)
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
        return render(request, "reviews/queue.html#review-item", {"item": item, "notice": notice, "error": error})
    if error:
        messages.error(request, error)
    else:
        messages.success(request, notice)
    return redirect("reviews:queue")
