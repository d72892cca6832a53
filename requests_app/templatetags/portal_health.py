"""The sweep's heartbeat for staff pages: a stale one means beat is not running."""

from django import template
from django.conf import settings

from requests_app.selectors import sweep_heartbeat_age

register = template.Library()


@register.inclusion_tag("admin/_sweep_health.html")
def sweep_health():
    age = sweep_heartbeat_age()
    stale = age is None or age > settings.ELEVATE_HEARTBEAT_STALE_SECONDS
    return {"age": None if age is None else round(age), "stale": stale}
