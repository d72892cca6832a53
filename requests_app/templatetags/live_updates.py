"""`{{ elevation|poll_trigger }}`: the hx-trigger of a region showing one elevation (live.py)."""

from __future__ import annotations

from django import template

from requests_app import live

register = template.Library()
register.filter("poll_trigger", live.poll_trigger)
