"""Create a personal access token from the server's shell (scripts, the README's try-it):
the same rules as Settings → API tokens (scopes within the user's roles, staff scopes need MFA)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from requests_app.api.tokens import token_create
from requests_app.errors import PortalError
from requests_app.models import User


class Command(BaseCommand):
    help = "Create an API token for a user and print it (once)."

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("--scopes", default="read,request", help="Comma-separated: read,request,approve,...")
        parser.add_argument("--name", default="command line")
        parser.add_argument("--days", type=int, default=None)

    def handle(self, *args, email, scopes, name, days, **options):
        user = User.objects.filter(email__iexact=email, is_active=True).first()
        if user is None:
            raise CommandError(f"No active user has the e-mail address {email}.")
        try:
            _, secret = token_create(user=user, name=name, scopes=scopes.split(","), days=days)
        except PortalError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(secret)
