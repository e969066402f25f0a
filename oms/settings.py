"""Settings for the OMS: everything comes from the environment, with safe development defaults.

Production differs only by variables (DEBUG=0, SECRET_KEY, DATABASE_URL, REDIS_URL, ALLOWED_HOSTS, ...).
"""

from datetime import timedelta
from pathlib import Path
from urllib.parse import unquote

import environ
from celery.schedules import crontab
from csp.constants import NONE, SELF

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DEBUG = env.bool("DEBUG", default=True)
# A development key only works with DEBUG on; production must supply SECRET_KEY.
SECRET_KEY = env("SECRET_KEY") if not DEBUG else env("SECRET_KEY", default="dev-only-insecure-key-change-me")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "django_htmx",
    "template_partials",
    "simple_history",
    "axes",
    "csp",
    "oms",
    "inventory",
    "orders",
    "shipments",
    "notifications",
    "analytics",
]

MIDDLEWARE = [
    "oms.observability.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "oms.input_guard.RefuseNulBytesMiddleware",
    "oms.security_headers.CSPMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # An API call goes from here to the view; the rest is the pages' (oms/api_shortcut.py).
    "oms.api_shortcut.ApiShortcut",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "oms.i18n.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "oms.tenancy.middleware.TenantMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "axes.middleware.AxesMiddleware",
    "oms.api_shortcut.ApiShortcutEnd",
]

AUTHENTICATION_BACKENDS = [
    # Throttles failed logins per user name from one address before the password is even checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
# The pair, not either alone: a flood of guesses from one address (or at one name) cannot lock others out.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
# Reverse proxies in front of the app that append to X-Forwarded-For; 0 = the peer address is the client.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
AXES_CLIENT_IP_CALLABLE = "oms.client_address.client_ip_address"

ROOT_URLCONF = "oms.urls"
WSGI_APPLICATION = "oms.wsgi.application"
ASGI_APPLICATION = "oms.asgi.application"

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
                "oms.tenancy.context.tenant_context",
            ],
            "builtins": ["template_partials.templatetags.partials"],
        },
    },
    {
        # Only for page parts printed many times per page (see oms/jinja.py); pages stay Django templates.
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "NAME": "jinja2",
        "APP_DIRS": True,
        "OPTIONS": {"environment": "oms.jinja.environment"},
    },
]

# Form widgets render with Django's own Jinja2 templates: the same markup at about half the cost of its Django
# templates; a select prints its options in one loop (oms/forms_renderer.py). Page templates stay Django's.
FORM_RENDERER = "oms.forms_renderer.Jinja2"

# Without DATABASE_URL the app talks to the embedded PostgreSQL that `oms.launcher` starts under var/.
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"postgres://postgres@:5432/{BASE_DIR / 'var' / 'postgres'}/oms")
}
# PostgreSQL with the tenant bound per transaction, never per session (row-level security behind a pooler).
DATABASES["default"]["ENGINE"] = "oms.dbbackend"
# libpq writes a socket directory in the host part percent-encoded (`postgres://u@%2Fvar%2Frun/db`); decode it.
DATABASES["default"]["HOST"] = unquote(DATABASES["default"]["HOST"] or "")
# The non-owner, non-superuser role that row-level security binds (see oms/rls.py); empty = not enforced.
DATABASE_APP_ROLE = env("DATABASE_APP_ROLE", default="")
# Set by `migrate` as that role's login password (docker-compose); empty where the server trusts local logins.
DATABASE_APP_PASSWORD = env("DATABASE_APP_PASSWORD", default="")
# Persistent connections nearly double API throughput (bench/orders.py); health checks drop dead ones.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0 if DEBUG else 60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# Hot statements run through oms.db.prepared_cursor are prepared once per connection; turn off behind a proxy
# that pools by transaction without prepared-statement support (PgBouncer before 1.21).
DATABASE_PREPARED_STATEMENTS = env.bool("DATABASE_PREPARED_STATEMENTS", default=True)
# Behind a proxy that pools by transaction (PgBouncer `pool_mode = transaction`): no statement prepared on a server
# connection, no cursor held open past its transaction. The tenant binding needs nothing more (oms/dbbackend).
DATABASE_TRANSACTION_POOLING = env.bool("DATABASE_TRANSACTION_POOLING", default=False)
# A streaming replica for reads that may be a moment old: reports and the owner's export (oms/replica.py).
if env("DATABASE_REPLICA_URL", default=""):
    DATABASES["replica"] = {
        **env.db("DATABASE_REPLICA_URL"),
        **{key: DATABASES["default"][key] for key in ("ENGINE", "CONN_MAX_AGE", "CONN_HEALTH_CHECKS")},
        "TEST": {"MIRROR": "default"},
    }
    DATABASES["replica"]["HOST"] = unquote(DATABASES["replica"]["HOST"] or "")
DATABASE_ROUTERS = ["oms.replica.ReplicaRouter"]
if DATABASE_TRANSACTION_POOLING:
    DATABASE_PREPARED_STATEMENTS = False
    for database in DATABASES.values():
        database["DISABLE_SERVER_SIDE_CURSORS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env("REDIS_URL", default="redis://127.0.0.1:6379/0")
CACHES = {
    "default": {
        "BACKEND": "oms.cache.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env("CACHE_KEY_PREFIX", default="oms"),
    }
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en"
# The interface ships in these; each person chooses theirs under Account (oms.i18n).
LANGUAGES = [("en", "English"), ("ru", "Русский")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# htmx comes from the pinned npm package, never a copy in the repo.
STATICFILES_DIRS = [BASE_DIR / "static", ("vendor/htmx", BASE_DIR / "node_modules" / "htmx.org" / "dist")]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Files only a view that checks the shop and role may hand out (exports): never under MEDIA_URL.
    "private": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": env("PRIVATE_FILES_ROOT", default=str(BASE_DIR / "var" / "private")), "base_url": None},
    },
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG
MEDIA_ROOT = env("MEDIA_ROOT", default=str(BASE_DIR / "var" / "media"))
MEDIA_URL = "/media/"

EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="orders@localhost")
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=20)  # shorter than a message's send claim (messaging.SEND_LEASE)

# Security: strict by default when DEBUG is off; each switch can be turned off for a plain-HTTP loopback run.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=12 * 3600)
# Every page reads the session: from Redis, with the database behind it (a cache miss or outage reads the row).
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

# No inline script or style anywhere: htmx is configured with allowEval false, behaviour lives in static files.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [SELF],
        "object-src": [NONE],
    }
}

# Celery: the broker is Redis; tasks are acknowledged after they finish so a dying worker loses nothing.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Workers keep their database connection between tasks (Celery's Django fix-up would close it after each one: a new
# connection per task, ~5 ms each); oms.celery checks it before each task as Django does per request, so
# CONN_MAX_AGE and the health checks still apply.
CELERY_DB_REUSE_MAX = 1_000_000
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TIMEZONE = TIME_ZONE
# Seconds a shop's event dispatch waits after the first event of a burst asks for it, so the events that follow
# within that time go in the same task and transaction (and their webhooks in the same deliveries): a fixed cost per
# task instead of per event. 0.3 s cut the workers' CPU per order by a third at 20 orders/s (bench/events.py);
# 0 dispatches at once.
EVENT_DISPATCH_WINDOW = env.float("EVENT_DISPATCH_WINDOW", default=0.3)
# Queues by kind of work, each served by its own worker (make up, docker-compose.yml): a minute-long report
# rebuild or a webhook waiting out its timeout never delays event dispatch, time limits and triggers.
CELERY_TASK_DEFAULT_QUEUE = "events"
CELERY_TASK_ROUTES = {
    "notifications.tasks.deliver_webhooks": {"queue": "io"},
    "notifications.tasks.sweep_webhooks": {"queue": "io"},
    "notifications.tasks.send_message": {"queue": "io"},
    "notifications.tasks.sweep_messages": {"queue": "io"},
    "shipments.tasks.poll_shipment": {"queue": "io"},
    "shipments.tasks.poll_due_shipments": {"queue": "io"},
    "analytics.tasks.*": {"queue": "reports"},
    "oms.tasks.run_job": {"queue": "reports"},
    "oms.tasks.email_password_link": {"queue": "io"},
}
CELERY_BEAT_SCHEDULE = {
    "outbox-sweep": {"task": "oms.tasks.sweep_outbox", "schedule": 60.0},
    "expire-idempotency-keys": {"task": "oms.tasks.purge_idempotency_keys", "schedule": crontab(minute=7)},
    "analytics-refresh-purchases": {"task": "analytics.tasks.refresh_purchase_summaries", "schedule": 300.0},
    "shipments-route-deadlines": {"task": "shipments.tasks.check_route_deadlines", "schedule": 300.0},
    "shipments-poll-tracking": {"task": "shipments.tasks.poll_due_shipments", "schedule": 60.0},
    "sla-sweep": {"task": "notifications.tasks.sweep_time_limits", "schedule": 60.0},
    "webhook-retries": {"task": "notifications.tasks.sweep_webhooks", "schedule": 15.0},
    "message-sweep": {"task": "notifications.tasks.sweep_messages", "schedule": 60.0},
    "worker-heartbeat": {"task": "oms.tasks.heartbeat", "schedule": 30.0},
    "purge-job-files": {"task": "oms.tasks.purge_job_files", "schedule": crontab(minute=17)},
    "low-stock-sweep": {"task": "inventory.tasks.sweep_low_stock", "schedule": 300.0},
}

# Development and tests only (receivers on 127.0.0.1): lets the guarded HTTP client (oms/http.py) reach loopback
# and private addresses for ALL outbound calls (webhooks, carriers, tracking polls, SMS gateway) and lets admins save
# such URLs. Redirects stay refused and the size and time caps stay. Off by default; never on in production.
WEBHOOKS_ALLOW_PRIVATE_URLS = env.bool("WEBHOOKS_ALLOW_PRIVATE_URLS", default=False)
# Absolute links in messages to customers (tracking pages) need the public address of the site.
SITE_URL = env("SITE_URL", default="http://127.0.0.1:8000")
SMS_BACKEND = env("SMS_BACKEND", default="notifications.messaging.sms.LoggingSmsBackend")
SMS_GATEWAY_URL = env("SMS_GATEWAY_URL", default="")
SMS_GATEWAY_TOKEN = env("SMS_GATEWAY_TOKEN", default="")

# JSON lines with the request id and tenant in production; readable text while developing.
LOG_FORMAT = env("LOG_FORMAT", default="text" if DEBUG else "json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_context": {"()": "oms.observability.RequestContextFilter"}},
    "formatters": {
        "json": {"()": "oms.observability.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s %(tenant)s] %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["request_context"], "formatter": LOG_FORMAT}
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
