"""`/elevate` (slack-app.md §2): answered at once, only to the person who typed it (ephemeral).

/elevate devices | status | extend ID|DEVICE 30m | revoke ID|DEVICE | DEVICE 30m reason…
"""

from __future__ import annotations

from requests_app import policy, selectors, services
from requests_app.durations import parse_minutes
from requests_app.errors import PolicyViolation, PortalError
from requests_app.forms import ExtendForm, first_error
from requests_app.integrations.slack import escape_mrkdwn as esc
from requests_app.integrations.slack_app import blocks
from requests_app.integrations.slack_app.identity import user_for
from requests_app.integrations.slack_app.models import SlackApp
from requests_app.models import Elevation, User

HELP = (
    "*/elevate* — temporary admin rights\n"
    "• `/elevate devices` — your devices\n"
    "• `/elevate erin-macbook 30m why you need it` — ask for admin\n"
    "• `/elevate status` — your live elevations, with Extend and Revoke\n"
    "• `/elevate extend erin-macbook 30m` · `/elevate revoke erin-macbook`"
)


def ephemeral(text: str, content: list | None = None) -> dict:
    answer: dict[str, object] = {"response_type": "ephemeral", "text": text}
    if content:
        answer["blocks"] = content
    return answer


def run(app: SlackApp, slack_id: str, text: str) -> dict:
    user = user_for(slack_id, app)
    if user is None:
        return ephemeral("Elevate has no account with your Slack e-mail address; ask your IT team.")
    words = text.split()
    verb = words[0].lower() if words else "help"
    try:
        if verb == "help":
            return ephemeral(HELP)
        if verb == "devices":
            return _devices(user)
        if verb == "status":
            return _status(user)
        if verb in ("extend", "revoke"):
            return _change(user, verb, words[1:])
        return _request(user, words)
    except PortalError as exc:
        return ephemeral(f":warning: {exc.message}")


def _devices(user: User) -> dict:
    devices = list(selectors.devices_for_user(user))
    if not devices:
        return ephemeral("You have no devices in Elevate.")
    lines = [f"• `{esc(d.hostname)}` {esc(d.os)}" for d in devices]
    return ephemeral("Your devices:\n" + "\n".join(lines))


def _status(user: User) -> dict:
    live = selectors.my_live_elevations(user)
    if not live:
        return ephemeral("You have no live elevations.")
    content = [block for elevation in live for block in blocks.status(elevation, user)[1]]
    return ephemeral(f"{len(live)} live elevation(s)", content[:50])


def _live_one(user: User, reference: str) -> Elevation:
    for elevation in selectors.my_live_elevations(user):
        if str(elevation.public_id).startswith(reference.lower()) or elevation.target_name.lower() == reference.lower():
            return elevation
    raise PolicyViolation(f"You have no live elevation matching {reference!r}.")


def _change(user: User, verb: str, args: list[str]) -> dict:
    if not args:
        raise PolicyViolation(f"Say which: /elevate {verb} DEVICE" + (" 30m" if verb == "extend" else ""))
    elevation = _live_one(user, args[0])
    if verb == "revoke":
        services.elevation_revoke(elevation=elevation, actor=user)
        return ephemeral(f"Revoking admin on {elevation.target_name}.")
    form = ExtendForm({"minutes": str(_minutes(args[1:])), "reason": ""}, elevation=elevation)  # the page's form
    if not form.is_valid():
        raise PolicyViolation(first_error(form))
    services.elevation_extend(elevation=elevation, actor=user, **form.cleaned_data)
    elevation.refresh_from_db()
    return ephemeral(f"Extended: admin on {elevation.target_name} until {elevation.expires_at:%H:%M} UTC.")


def _minutes(args: list[str]) -> int:
    try:
        return parse_minutes(args[0])
    except (IndexError, ValueError) as exc:
        raise PolicyViolation("Give a duration such as 30m or 2h.") from exc


def _request(user: User, words: list[str]) -> dict:
    if len(words) < 3:
        return ephemeral(HELP)
    device = selectors.devices_for_user(user).filter(hostname__iexact=words[0]).first()
    if device is None:
        raise PolicyViolation(f"{words[0]} is not one of your devices (see /elevate devices).")
    elevation = services.elevation_request(
        requester=user,
        device=device,
        minutes=_minutes(words[1:2]),
        reason=" ".join(words[2:]),
        source=Elevation.Source.SLACK,
    )
    said = "extended" if elevation.extensions else "requested"
    text, content = blocks.status(elevation, user)
    return ephemeral(
        f"Admin on {device.hostname} {said} for {policy.human_minutes(elevation.requested_minutes)}. {text}", content
    )
