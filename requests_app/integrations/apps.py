from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    """Jira intake and comments, Slack and e-mail notifications, one-click links."""

    name = "requests_app.integrations"
    label = "integrations"
    verbose_name = "Integrations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from requests_app.integrations import receivers  # noqa: F401  (connects lifecycle signals)
        from requests_app.integrations.slack_app import admin as slack_admin  # noqa: F401  (registers)
        from requests_app.integrations.slack_app import receivers as slack_receivers  # noqa: F401  (connects)
