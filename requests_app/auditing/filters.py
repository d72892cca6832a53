"""The dashboard's filters: a GET form, and the plain value it cleans into (shared by the
event list, the summary and the export)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django import forms
from django.db.models import QuerySet
from django.utils import timezone

from requests_app.lifecycle import State
from requests_app.models import Device, Elevation, ProviderConnection, User

DEFAULT_DAYS = 30
MAX_DAYS = 366


@dataclass(frozen=True)
class AuditFilters:
    """What to show. `start`/`end` are aware datetimes (end exclusive) in the viewer's time zone."""

    start: datetime
    end: datetime
    user: User | None = None
    device_ids: tuple[int, ...] = ()
    actor: User | None = None
    actor_label: str = ""
    action: str = ""
    provider: ProviderConnection | None = None
    state: str = ""
    elevation: Elevation | None = None
    query: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def days(self) -> list[date]:
        tz = timezone.get_current_timezone()
        first, last = self.start.astimezone(tz).date(), (self.end - timedelta(microseconds=1)).astimezone(tz).date()
        return [first + timedelta(days=n) for n in range((last - first).days + 1)]

    def cache_key(self) -> str:
        """The period and a digest of the other filters: free text in a key would be unsafe for
        some cache backends (memcached refuses spaces and control characters)."""
        given = "&".join(f"{k}={v}" for k, v in sorted(self.query.items()) if k not in ("date_from", "date_to"))
        digest = hashlib.sha256(given.encode("utf-8", "surrogatepass")).hexdigest()[:32]
        return f"{self.start:%Y%m%dT%H%M%S}-{self.end:%Y%m%dT%H%M%S}-{digest}"


def _providers() -> QuerySet[ProviderConnection]:
    return ProviderConnection.objects.only("public_id", "name").order_by("name")


def provider_options() -> list[ProviderConnection]:
    """The provider filter's options, listed on every dashboard view (the field's queryset checks a choice)."""
    return list(_providers())


class AuditFilterForm(forms.Form):
    user = forms.CharField(required=False, label="User (e-mail)", help_text="Whose elevation or account")
    device = forms.CharField(required=False, label="Device (hostname)")
    actor = forms.CharField(required=False, label="Actor", help_text="E-mail, or worker / system")
    action = forms.CharField(required=False, label="Action", help_text="Exact, or a prefix ending in . or *")
    provider = forms.ModelChoiceField(
        # Only what a filter needs: loading the rest would decrypt each connection's secret.
        _providers(),
        required=False,
        to_field_name="public_id",
        label="Provider",
    )
    state = forms.ChoiceField(choices=[("", "Any state"), *State.choices], required=False, label="Elevation state")
    elevation = forms.UUIDField(required=False, widget=forms.HiddenInput)
    date_from = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))

    def clean_user(self) -> User | None:
        return self._user_by_email(self.cleaned_data["user"])

    def clean_device(self) -> tuple[int, ...]:
        hostname = self.cleaned_data["device"].strip()
        if not hostname:
            return ()
        ids = tuple(Device.objects.filter(hostname__iexact=hostname).values_list("pk", flat=True))
        if not ids:
            raise forms.ValidationError("No device has that hostname.")
        return ids

    def clean_elevation(self) -> Elevation | None:
        public_id = self.cleaned_data["elevation"]
        return Elevation.objects.filter(public_id=public_id).first() if public_id else None

    def clean(self):
        data = super().clean()
        today = timezone.localdate()
        elevation = data.get("elevation")
        # One elevation's timeline: its whole life, however long ago, unless dates are given.
        since = timezone.localtime(elevation.created_at).date() if elevation else None
        first = data.get("date_from") or since or today - timedelta(days=DEFAULT_DAYS - 1)
        last = data.get("date_to") or max(today, first)
        if last < first:
            self.add_error("date_to", "The range ends before it starts.")
        elif (last - first).days >= MAX_DAYS and not elevation:
            self.add_error("date_from", f"Pick at most {MAX_DAYS} days.")
        data["date_from"], data["date_to"] = first, last
        return data

    def _user_by_email(self, email: str) -> User | None:
        email = email.strip()
        if not email:
            return None
        user = User.objects.filter(email__iexact=email).first()
        if user is None:
            raise forms.ValidationError("No user has that e-mail address.")
        return user

    def filters(self) -> AuditFilters:
        """The cleaned filters (call after is_valid())."""
        data = self.cleaned_data
        tz = timezone.get_current_timezone()
        actor_text = (data.get("actor") or "").strip()
        actor = User.objects.filter(email__iexact=actor_text).first() if "@" in actor_text else None
        return AuditFilters(
            start=datetime.combine(data["date_from"], time.min, tzinfo=tz),
            end=datetime.combine(data["date_to"] + timedelta(days=1), time.min, tzinfo=tz),
            user=data.get("user"),
            device_ids=data.get("device") or (),
            actor=actor,
            actor_label="" if actor else actor_text,
            action=(data.get("action") or "").strip(),
            provider=data.get("provider"),
            state=data.get("state") or "",
            elevation=data.get("elevation"),
            query={k: str(v) for k, v in self.data.items() if k in self.fields and v not in ("", None)},
        )
