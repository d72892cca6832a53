"""Helpdesk rows render without a view's context (they are cached): what they offer comes from here."""

from __future__ import annotations

from django import template

from requests_app.helpdesk.forms import DURATION_CHOICES

register = template.Library()


@register.simple_tag
def duration_choices() -> list[tuple[int, str]]:
    """The lengths the Extend and Grant forms offer, labelled as everywhere else ("2 h")."""
    return DURATION_CHOICES
