"""The attestation prompt on My elevations, and an elevation's attestation on its page."""

from __future__ import annotations

from django import template

from requests_app.attestation import selectors

register = template.Library()


@register.inclusion_tag("attestation/_prompt.html")
def attestation_prompt(user):
    return {"asked": selectors.asked_of(user) if user.is_authenticated else []}


@register.simple_tag
def attestation_of(elevation):
    return selectors.attestation_of(elevation)
