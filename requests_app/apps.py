from django.apps import AppConfig


class RequestsAppConfig(AppConfig):
    name = "requests_app"
    verbose_name = "Elevate"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from requests_app import (
            receivers,  # noqa: F401  (connects signal receivers)
            tasks,  # noqa: F401  (registers the tasks queueing.py sends, in every process)
        )
        from requests_app.roles import ensure_roles

        post_migrate.connect(ensure_roles, sender=self)
