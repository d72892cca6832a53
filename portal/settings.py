"""Elevate settings: one file, every knob read from the environment.

Embedded default (no DATABASE_URL): SQLite under var/, an embedded Redis-compatible broker started
by `make run`, the demo provider, DEBUG on. Setting DATABASE_URL and REDIS_URL switches to the
production stack; then SECRET_KEY is required and `manage.py check --deploy` is clean.
"""

from __future__ import annotations

import secrets
from importlib.metadata import version as _package_version
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from portal.env import env_bool, env_int, env_json, env_list, env_secret, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("ELEVATE_VAR_DIR") or BASE_DIR / "var")
VAR_DIR.mkdir(parents=True, exist_ok=True)

# ---------------------------------------------------------------------------------------------
# Mode and secrets
# ---------------------------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL")
REDIS_URL = env_str("REDIS_URL")
DEBUG = env_bool("DEBUG", default=not DATABASE_URL)


def _secret_key() -> str:
    key = env_secret("SECRET_KEY")
    if key:
        return key
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Production mode (DATABASE_URL set or DEBUG=false) needs a "
            "long random SECRET_KEY (or SECRET_KEY_FILE); generate one with "
            "`python -c 'import secrets; print(secrets.token_urlsafe(64))'`."
        )
    # Embedded mode: a random key kept under var/ so sessions survive restarts.
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(64))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
# Fernet keys for secrets at rest (first one encrypts, all decrypt: rotation). Derived from
# SECRET_KEY when unset, which is fine until SECRET_KEY rotates.
FIELD_ENCRYPTION_KEYS = env_list("FIELD_ENCRYPTION_KEYS", [])

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
if not DEBUG and not ALLOWED_HOSTS:
    ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
ELEVATE_BASE_URL = (env_str("ELEVATE_BASE_URL") or "http://127.0.0.1:8000").rstrip("/")
# Names this deployment in cache keys of rendered HTML (audit rows): a deploy never serves the
# previous release's markup. Set it to the image tag or commit; unset, the package version.
ELEVATE_RELEASE = env_str("ELEVATE_RELEASE") or _package_version("elevate")

# ---------------------------------------------------------------------------------------------
# Applications
# ---------------------------------------------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "template_partials",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "allauth.mfa",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "requests_app",
    "requests_app.integrations",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "requests_app.middleware.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "requests_app.auth.middleware.StaffMfaMiddleware",
    "requests_app.middleware.RequestContextMiddleware",
    "requests_app.middleware.UserTimezoneMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"
ASGI_APPLICATION = "portal.asgi.application"
AUTH_USER_MODEL = "requests_app.User"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "requests_app.context_processors.portal",
            ],
        },
    },
]

# ---------------------------------------------------------------------------------------------
# Database
# ---------------------------------------------------------------------------------------------
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(VAR_DIR / "elevate.sqlite3"),
            # Web, worker and beat share the file: take the write lock up front and wait for it.
            "OPTIONS": {"timeout": 30, "transaction_mode": "IMMEDIATE"},
        }
    }
# Parallel test runs (CI shards, several developers) each pick their own test database.
if env_str("TEST_DATABASE_NAME"):
    DATABASES["default"]["TEST"] = {"NAME": env_str("TEST_DATABASE_NAME")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# ---------------------------------------------------------------------------------------------
# Celery (see portal/celery.py for the app and the beat schedule)
# ---------------------------------------------------------------------------------------------
EMBEDDED_BROKER_PORT = env_int("ELEVATE_EMBEDDED_BROKER_PORT", 6399)
CELERY_BROKER_URL = REDIS_URL or f"redis://127.0.0.1:{EMBEDDED_BROKER_PORT}/0"
# Redis transport that survives a broker restart (see portal/broker.py).
CELERY_BROKER_TRANSPORT = "portal.broker:Transport"
CELERY_RESULT_BACKEND = CELERY_BROKER_URL
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_EXPIRES = 3600
# At-least-once delivery: every task is idempotent, so a message is acknowledged only after the
# task ran, and redelivered when the worker dies mid-task.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_VISIBILITY_TIMEOUT = env_int("CELERY_VISIBILITY_TIMEOUT", 3600)
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_BROKER_VISIBILITY_TIMEOUT}
# ETAs beyond this are left to the sweep: Redis redelivers unacked ETA messages after the
# visibility timeout, and loses them on a restart anyway.
ELEVATE_MAX_ETA_SECONDS = min(env_int("ELEVATE_MAX_ETA_SECONDS", 900), CELERY_BROKER_VISIBILITY_TIMEOUT // 2)
# Celery closes the database connections around every task unless this is set; with it, tasks
# keep theirs under Django's CONN_MAX_AGE and health checks (see portal/celery.py), and Celery
# still starts afresh every 2 x this many tasks.
CELERY_DB_REUSE_MAX = env_int("CELERY_DB_REUSE_MAX", 500)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# On a lost broker connection, let running steps finish: they are idempotent, and a duplicate
# redelivery is a no-op.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
CELERY_TASK_ALWAYS_EAGER = False
# Notifications (Slack, e-mail, Jira comments) have their own queue and worker, so a burst of them
# (10,000 expiries a minute each announce themselves) never delays a grant or an expiry.
# After-use work (attestations, review selection, digests, evidence packs: a pack can take
# minutes) rides on notifications too: none of it may hold a worker that grants and revokes.
#
# The rest is split by urgency, each queue with its own worker (Procfile, docker-compose.yml):
# `control` (the sweep: fast, never behind provider calls), `revoke` (revokes, expiries, pushing
# extensions, the reconciler), `grant` (grants, device sync). A backlog of grants therefore never
# delays a revoke, an expiry or a sweep. `celery` (the default) is served by the control worker.
CELERY_TASK_ROUTES = {
    "integrations.*": {"queue": "notifications"},
    "helpdesk.break_glass_alert": {"queue": "notifications"},
    "requests_app.sweep": {"queue": "control"},
    "requests_app.revoke": {"queue": "revoke"},
    "requests_app.expire_due": {"queue": "revoke"},
    "requests_app.sync_expiry": {"queue": "revoke"},
    "requests_app.confirm_end": {"queue": "revoke"},
    "requests_app.resume_revokes": {"queue": "revoke"},
    "requests_app.reconcile": {"queue": "revoke"},
    "requests_app.grant": {"queue": "grant"},
    "requests_app.sync_all_devices": {"queue": "grant"},
    "attestation.*": {"queue": "notifications"},
    "reviews.*": {"queue": "notifications"},
    "digests.*": {"queue": "notifications"},
    "evidence.*": {"queue": "notifications"},
}
ELEVATE_QUEUES = ("control", "revoke", "grant", "notifications", "celery")
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
ELEVATE_SWEEP_SECONDS = env_int("ELEVATE_SWEEP_SECONDS", 5)
ELEVATE_RECONCILE_SECONDS = env_int("ELEVATE_RECONCILE_SECONDS", 300)
# The sweep is "stale" (no beat running) after this many seconds without a heartbeat.
ELEVATE_HEARTBEAT_STALE_SECONDS = env_int("ELEVATE_HEARTBEAT_STALE_SECONDS", 60)
# A step still running after this long is presumed dead (worker killed) and driven again.
ELEVATE_STEP_LEASE_SECONDS = env_int("ELEVATE_STEP_LEASE_SECONDS", 60)
# A revoke whose worker died is taken over after this long (one call, bounded by the HTTP timeout).
ELEVATE_REVOKE_LEASE_SECONDS = env_int("ELEVATE_REVOKE_LEASE_SECONDS", 10)
# A revoke waits at most this long for the provider's answer, then asks again (it is idempotent).
ELEVATE_REVOKE_CALL_TIMEOUT_SECONDS = env_int("ELEVATE_REVOKE_CALL_TIMEOUT_SECONDS", 5)
# Provider calls of expiry batches in flight at once per revoke worker process: expiries a second
# times the provider's latency, with room (10,000 a minute at 200 ms keep ~35 in flight; 32 let a
# backlog grow to p99 10.6 s, 64 held it at 0.8 s). Only the demo provider's calls use a database
# connection each.
ELEVATE_REVOKE_CALLS_AT_ONCE = env_int("ELEVATE_REVOKE_CALLS_AT_ONCE", 64)
# A person's revoke goes out as two copies at once where the provider's revoke is one idempotent
# call (JumpCloud access requests): one lost call then costs nothing. Off: one call, retried.
ELEVATE_HEDGE_REVOKES = env_bool("ELEVATE_HEDGE_REVOKES", True)
ELEVATE_GRANT_MAX_ATTEMPTS = env_int("ELEVATE_GRANT_MAX_ATTEMPTS", 6)
ELEVATE_REVOKE_ALERT_ATTEMPTS = env_int("ELEVATE_REVOKE_ALERT_ATTEMPTS", 3)
ELEVATE_RETRY_BASE_SECONDS = env_int("ELEVATE_RETRY_BASE_SECONDS", 5)
ELEVATE_RETRY_MAX_SECONDS = env_int("ELEVATE_RETRY_MAX_SECONDS", 300)
# Provider connections (requests_app/providers/gate.py): the shared back-off lives in Redis (the
# broker's, in the embedded default). An optional requests-per-second cap per connection, of which
# a share is kept for revokes; how long a revoke waits in place for a pause before re-queueing.
ELEVATE_COORDINATION_REDIS_URL = REDIS_URL or CELERY_BROKER_URL
ELEVATE_PROVIDER_MAX_RPS = env_int("ELEVATE_PROVIDER_MAX_RPS", 0)
ELEVATE_PROVIDER_REVOKE_RESERVE = 0.2
ELEVATE_GATE_MAX_WAIT_SECONDS = env_int("ELEVATE_GATE_MAX_WAIT_SECONDS", 5)
# A rate-limited connection sends in waves (gate.py): calls within this many ms of a wave's first
# join it (keep it below the provider's fastest answer); a call unanswered for longer than the hold
# no longer holds the next wave back (a 429 comes back fast; the hold also covers a busy process
# that has the answer but has not yet written it down).
ELEVATE_GATE_WAVE_JOIN_MS = env_int("ELEVATE_GATE_WAVE_JOIN_MS", 50)
ELEVATE_GATE_WAVE_HOLD_MS = env_int("ELEVATE_GATE_WAVE_HOLD_MS", 2500)
# A web request (the request form) gives the provider this long in all, then accepts the request
# and leaves the checks to the grant step, which shows a refusal live on the elevation.
ELEVATE_WEB_PROVIDER_BUDGET_SECONDS = env_int("ELEVATE_WEB_PROVIDER_BUDGET_SECONDS", 2)
# /metrics (Prometheus text): staff with the audit permission, or this bearer token.
ELEVATE_METRICS_TOKEN = env_secret("ELEVATE_METRICS_TOKEN", "")
# The auditors' review queue (requests_app/reviews): besides every break-glass and every elevation
# over its policy's review threshold, this percentage of the rest, drawn when each one ends by an
# HMAC of its public id under this key (so the draw can be reproduced, but not predicted by users).
ELEVATE_REVIEW_SAMPLE_PERCENT = env_int("ELEVATE_REVIEW_SAMPLE_PERCENT", 5)
ELEVATE_REVIEW_SAMPLE_KEY = env_secret("ELEVATE_REVIEW_SAMPLE_KEY", "") or f"review-sample:{SECRET_KEY}"
# Personal Slack webhooks (set by any employee) may only go to these hosts, over https, and only
# to public addresses (SECURITY.md). ELEVATE_WEBHOOK_ALLOW_LOOPBACK is for test stacks: it lets a
# listed loopback host (a Slack simulator) answer over plain http.
ELEVATE_WEBHOOK_ALLOWED_HOSTS = env_list("ELEVATE_WEBHOOK_ALLOWED_HOSTS", ["hooks.slack.com"])
ELEVATE_WEBHOOK_ALLOW_LOOPBACK = env_bool("ELEVATE_WEBHOOK_ALLOW_LOOPBACK", False)
# The audit chain head is written outside the database this often: to the log, and appended to
# ELEVATE_AUDIT_ANCHOR_FILE and/or POSTed to ELEVATE_AUDIT_ANCHOR_WEBHOOK if set (SECURITY.md).
ELEVATE_AUDIT_ANCHOR_SECONDS = env_int("ELEVATE_AUDIT_ANCHOR_SECONDS", 300)
ELEVATE_AUDIT_ANCHOR_FILE = env_str("ELEVATE_AUDIT_ANCHOR_FILE", "")
ELEVATE_AUDIT_ANCHOR_WEBHOOK = env_str("ELEVATE_AUDIT_ANCHOR_WEBHOOK", "")
# Periodic tasks of add-ons: {"name": (seconds, "task name")}; portal/celery.py schedules them.
ELEVATE_EXTRA_BEAT = {
    "expiry reminders": (60, "integrations.send_expiry_reminders"),
    "jira token expiry warning": (6 * 3600, "integrations.warn_expiring_jira_tokens"),
    "requeue stale notifications": (120, "integrations.requeue_stale"),
    "audit chain verify": (300, "requests_app.audit_verify"),  # checkpoint for the audit dashboard
    "open missed attestations": (900, "attestation.open_missed"),
    "select missed reviews": (900, "reviews.select_missed"),
    "manager digests": (6 * 3600, "digests.send_weekly"),  # keyed per week: sends once, early Monday
    "audit chain anchor": (ELEVATE_AUDIT_ANCHOR_SECONDS, "requests_app.audit_anchor"),
}

# ---------------------------------------------------------------------------------------------
# Cache and sessions
# ---------------------------------------------------------------------------------------------
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "portal.cache.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 12 * 3600)

# ---------------------------------------------------------------------------------------------
# Sign-in (django-allauth). SSO first; local passwords only for break-glass (and the demo).
# ---------------------------------------------------------------------------------------------
# The backend refuses password sign-in when ELEVATE_LOCAL_LOGIN is off, and for anyone but a
# break-glass admin when ELEVATE_LOCAL_LOGIN_FOR=break_glass (the default once SSO is configured).
AUTHENTICATION_BACKENDS = ["requests_app.auth.backends.PortalAuthenticationBackend"]
ELEVATE_LOCAL_LOGIN = env_bool("ELEVATE_LOCAL_LOGIN", default=True)
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_FORMS = {"login": "requests_app.auth.forms.LoginForm"}
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_ADAPTER = "portal.adapters.AccountAdapter"
SOCIALACCOUNT_ADAPTER = "portal.adapters.SocialAccountAdapter"
ACCOUNT_LOGOUT_ON_GET = False
# Failed sign-ins are throttled per account (the e-mail typed), and per address only far higher:
# behind a shared proxy or NAT a per-address limit let one person lock everyone out (SECURITY.md).
ELEVATE_LOGIN_FAILURES_PER_ACCOUNT = env_str("ELEVATE_LOGIN_FAILURES_PER_ACCOUNT", "5/5m")
ELEVATE_LOGIN_FAILURES_PER_ADDRESS = env_str("ELEVATE_LOGIN_FAILURES_PER_ADDRESS", "300/m")
ACCOUNT_RATE_LIMITS = {
    "login_failed": f"{ELEVATE_LOGIN_FAILURES_PER_ACCOUNT}/key,{ELEVATE_LOGIN_FAILURES_PER_ADDRESS}/ip",
    "login": f"{ELEVATE_LOGIN_FAILURES_PER_ADDRESS}/ip",
}
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "requests_app:my_elevations"
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"
# Starting an SSO sign-in is POST-only (a GET shows a confirmation page): no login CSRF.
SOCIALACCOUNT_LOGIN_ON_GET = False
SOCIALACCOUNT_EMAIL_AUTHENTICATION = True
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = True
SOCIALACCOUNT_EMAIL_REQUIRED = True
SOCIALACCOUNT_STORE_TOKENS = False

# Generic OpenID Connect (Okta, Entra ID, Google Workspace, JumpCloud SSO...). From the
# environment here, or as a Social application (provider "OpenID Connect") in the admin; PKCE is
# on for both. The redirect URI to register at the IdP: <base URL>/accounts/oidc/<provider id>/login/callback/
ELEVATE_OIDC_SERVER_URL = env_str("ELEVATE_OIDC_SERVER_URL", "")  # the issuer
ELEVATE_OIDC_PROVIDER_ID = env_str("ELEVATE_OIDC_PROVIDER_ID", "sso")
ELEVATE_OIDC_NAME = env_str("ELEVATE_OIDC_NAME", "Single sign-on")
ELEVATE_OIDC_CLIENT_ID = env_str("ELEVATE_OIDC_CLIENT_ID", "")
ELEVATE_OIDC_SCOPES = env_list("ELEVATE_OIDC_SCOPES", ["openid", "profile", "email"])
if ELEVATE_OIDC_SERVER_URL and not ELEVATE_OIDC_CLIENT_ID:
    raise ImproperlyConfigured("ELEVATE_OIDC_SERVER_URL is set but ELEVATE_OIDC_CLIENT_ID is not.")
SOCIALACCOUNT_PROVIDERS: dict = {
    "openid_connect": {
        "OAUTH_PKCE_ENABLED": True,
        "APPS": [
            {
                "provider_id": ELEVATE_OIDC_PROVIDER_ID,
                "name": ELEVATE_OIDC_NAME,
                "client_id": ELEVATE_OIDC_CLIENT_ID,
                "secret": env_secret("ELEVATE_OIDC_CLIENT_SECRET", ""),
                "settings": {"server_url": ELEVATE_OIDC_SERVER_URL, "scope": ELEVATE_OIDC_SCOPES},
            }
        ]
        if ELEVATE_OIDC_SERVER_URL
        else [],
    },
}
# SAML 2.0 (optional): `pip install "django-allauth[saml]"` (python3-saml, xmlsec), set
# ELEVATE_SAML=true, then add one Social application of provider "SAML" per IdP in the admin
# (requests_app/auth/README.md has the settings). Starting a SAML sign-in is POST-only too.
ELEVATE_SAML = env_bool("ELEVATE_SAML", default=False)
if ELEVATE_SAML:
    try:
        import onelogin.saml2  # noqa: F401
    except ImportError:
        raise ImproperlyConfigured(
            'ELEVATE_SAML=true needs the SAML extra: pip install "django-allauth[saml]" (python3-saml, xmlsec).'
        ) from None
    INSTALLED_APPS.append("allauth.socialaccount.providers.saml")

ELEVATE_LOCAL_LOGIN_FOR = env_str("ELEVATE_LOCAL_LOGIN_FOR", "break_glass" if ELEVATE_OIDC_SERVER_URL else "everyone")
if ELEVATE_LOCAL_LOGIN_FOR not in ("everyone", "break_glass"):
    raise ImproperlyConfigured(
        f"ELEVATE_LOCAL_LOGIN_FOR must be everyone or break_glass, not {ELEVATE_LOCAL_LOGIN_FOR!r}"
    )

# Roles from the IdP's groups claim on every SSO sign-in: JSON {"idp group": "portal role"}.
# Empty: roles are managed in the admin only. Set: the IdP is the source of truth for the roles.
ELEVATE_SSO_GROUPS_CLAIM = env_str("ELEVATE_SSO_GROUPS_CLAIM", "groups")
ELEVATE_SSO_GROUP_ROLES = env_json("ELEVATE_SSO_GROUP_ROLES", {})
ELEVATE_SSO_DEFAULT_ROLES = env_list("ELEVATE_SSO_DEFAULT_ROLES", ["employee"])
# A claim holding the manager's e-mail (e.g. "manager_email"); empty: managers are set elsewhere.
ELEVATE_SSO_MANAGER_CLAIM = env_str("ELEVATE_SSO_MANAGER_CLAIM", "")

# MFA (TOTP, WebAuthn security keys): required for these roles before they use the staff pages.
MFA_SUPPORTED_TYPES = ["totp", "webauthn", "recovery_codes"]
MFA_PASSKEY_LOGIN_ENABLED = False
MFA_TOTP_ISSUER = env_str("MFA_TOTP_ISSUER", "Elevate")
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = env_bool("MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN", default=DEBUG)
ELEVATE_MFA_REQUIRED_ROLES = env_list("ELEVATE_MFA_REQUIRED_ROLES", ["helpdesk", "admin"])
# The staff pages. The audit, review, evidence and overdue-attestation pages show other people's
# elevations (reasons, timelines): staff read them with MFA, as they act on them.
ELEVATE_MFA_REQUIRED_PATHS = env_list(
    "ELEVATE_MFA_REQUIRED_PATHS",
    ["/helpdesk/", "/approvals/", "/admin/", "/audit/", "/reviews/", "/evidence/", "/attestations/overdue/"],
)
# Step-up: asking for an elevation needs a sign-in (or re-authentication) at most this old. 0: off.
ELEVATE_STEP_UP_SECONDS = env_int("ELEVATE_STEP_UP_SECONDS", 3600)
ACCOUNT_REAUTHENTICATION_TIMEOUT = env_int("ACCOUNT_REAUTHENTICATION_TIMEOUT", 300)

# ---------------------------------------------------------------------------------------------
# REST API (/api/v1/, requests_app/api/): personal access tokens only, problem+json errors
# ---------------------------------------------------------------------------------------------
ELEVATE_API_TOKEN_DAYS = env_int("ELEVATE_API_TOKEN_DAYS", 90)  # a new token's default lifetime
ELEVATE_API_TOKEN_MAX_DAYS = env_int("ELEVATE_API_TOKEN_MAX_DAYS", 365)  # the longest an admin allows
ELEVATE_API_RATE = env_str("ELEVATE_API_RATE", "300/min")  # calls per token
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["requests_app.api.authentication.BearerTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["requests_app.api.access.TokenScopes"],
    "DEFAULT_THROTTLE_CLASSES": ["requests_app.api.throttling.PerTokenThrottle"],
    "DEFAULT_THROTTLE_RATES": {"token": ELEVATE_API_RATE},
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "requests_app.api.problems.problem_response",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Elevate API",
    "DESCRIPTION": "Just-in-time admin rights: the same services, policies and audit trail as the portal.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "requests_app.api.schema.add_problems",
    ],
}

# ---------------------------------------------------------------------------------------------
# Internationalisation: UTC inside, the user's time zone on screen (UserTimezoneMiddleware)
# ---------------------------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# ---------------------------------------------------------------------------------------------
# Static files (WhiteNoise serves them from the app server; htmx comes vendored with django-htmx)
# ---------------------------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
# Uploaded and generated files (evidence packs): web and worker must share this directory, or
# set STORAGES["default"] to a shared store.
MEDIA_ROOT = Path(env_str("ELEVATE_MEDIA_DIR") or VAR_DIR / "media")
# The evidence pack's PDF uses DejaVu Sans from here when it is installed (else Latin-1 only).
ELEVATE_PDF_FONT_DIR = env_str("ELEVATE_PDF_FONT_DIR", "/usr/share/fonts/truetype/dejavu")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if env_bool("STATIC_MANIFEST", default=False)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# ---------------------------------------------------------------------------------------------
# Security: HTTPS everything outside DEBUG, unless told it sits behind plain HTTP (tests)
# ---------------------------------------------------------------------------------------------
HTTPS = env_bool("ELEVATE_HTTPS", default=not DEBUG)
SECURE_SSL_REDIRECT = HTTPS
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
if env_bool("ELEVATE_BEHIND_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp): scripts and styles only from our own static files, no
# inline script or style, no eval (htmx is told so in base.html's htmx-config), no framing.
# form-action is left open: an SSO sign-in form posts to us and is redirected to the provider.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "font-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
    }
}
# Features no page of the portal uses are switched off; passkeys (WebAuthn MFA) stay on for us.
ELEVATE_PERMISSIONS_POLICY = (
    "accelerometer=(), autoplay=(), camera=(), display-capture=(), geolocation=(), gyroscope=(), "
    "magnetometer=(), microphone=(), midi=(), payment=(), usb=(), serial=(), hid=(), bluetooth=(), "
    "publickey-credentials-get=(self), publickey-credentials-create=(self)"
)
# /healthz and /readyz answer load balancers over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]

# ---------------------------------------------------------------------------------------------
# E-mail
# ---------------------------------------------------------------------------------------------
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend" if DEBUG else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_secret("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Elevate <elevate@localhost>")

# ---------------------------------------------------------------------------------------------
# Logging: to stdout, secrets never included (providers log no headers or bodies)
# ---------------------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    # A refused request (403) is one line, not a traceback: refusing is the page working.
    "filters": {"refusals_without_traceback": {"()": "portal.logging.RefusalsWithoutTraceback"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["refusals_without_traceback"],
        }
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},  # the PDF font subsetter narrates every glyph at INFO
    },
}
