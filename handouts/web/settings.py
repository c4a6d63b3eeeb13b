"""Django settings for the staff web app. Everything a deployment changes comes from the environment:

HANDOUTS_DATABASE_URL  any database Django supports, as a URL (default: SQLite in var/, git-ignored)
HANDOUTS_DATA_DIR      where the default database and the generated secret key live (default: var/)
HANDOUTS_SECRET_KEY    the signing key (default: one generated on first start, kept in the data folder, 0600)
HANDOUTS_HTTPS         1 behind an HTTPS proxy: Secure cookies, HSTS, the proxy's X-Forwarded-Proto trusted
HANDOUTS_ALLOWED_HOSTS comma-separated host names (default: localhost, 127.0.0.1)
HANDOUTS_OUTPUT        the build's output folder the library reads (default: output/)
HANDOUTS_IDLE_SECONDS  seconds of inactivity that end a session (default: 1800, 30 minutes)
HANDOUTS_WORKERS       server processes for `build.py serve` (default: the number of cores)
HANDOUTS_THREADS       threads per server process (default: 4)
HANDOUTS_TODAY         the date review dates are checked against, YYYY-MM-DD (default: today; tests fix it)
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url

PROJECT = Path(__file__).resolve().parents[2]
CONTENT_ROOT = Path(os.environ.get("HANDOUTS_ROOT", PROJECT)).resolve()
OUTPUT_DIR = Path(os.environ.get("HANDOUTS_OUTPUT", CONTENT_ROOT / "output")).resolve()
DATA_DIR = Path(os.environ.get("HANDOUTS_DATA_DIR", PROJECT / "var")).resolve()


def _secret_key() -> str:
    if os.environ.get("HANDOUTS_SECRET_KEY"):
        return os.environ["HANDOUTS_SECRET_KEY"]
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    file = DATA_DIR / "secret-key"
    try:
        fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return file.read_text(encoding="ascii").strip()
    key = secrets.token_urlsafe(50)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(key)
    return key


SECRET_KEY = _secret_key()
DEBUG = False
ALLOWED_HOSTS = [h.strip() for h in os.environ.get("HANDOUTS_ALLOWED_HOSTS", "localhost,127.0.0.1").split(",")
                 if h.strip()]
HTTPS = os.environ.get("HANDOUTS_HTTPS") == "1"
HANDOUTS_TODAY = os.environ.get("HANDOUTS_TODAY") or None

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "axes",
    "handouts.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "handouts.web.access.PasswordChangeRequired",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "handouts.web.urls"
WSGI_APPLICATION = "handouts.web.wsgi.application"

TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "DIRS": [],
    "APP_DIRS": True,
    "OPTIONS": {"context_processors": [
        "django.template.context_processors.request",
        "django.contrib.auth.context_processors.auth",
        "django.contrib.messages.context_processors.messages",
        "handouts.web.access.navigation",
    ]},
}]

DATABASES = {"default": dj_database_url.parse(
    os.environ.get("HANDOUTS_DATABASE_URL", f"sqlite:///{DATA_DIR / 'handouts.sqlite3'}"), conn_max_age=60)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Accounts: Argon2 first (argon2-cffi); the others only verify older hashes.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "library"
LOGOUT_REDIRECT_URL = "login"

# Login throttling (django-axes): the sixth attempt within 15 minutes is refused, per account and per address.
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "web/locked.html"
AXES_VERBOSE = False
AXES_IPWARE_META_PRECEDENCE_ORDER = ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"] if HTTPS else ["REMOTE_ADDR"]

# Sessions: server-side, ended after 30 idle minutes (each request renews the 30 minutes) and when the browser
# closes; cookies are HttpOnly and SameSite, and Secure behind HTTPS.
SESSION_COOKIE_AGE = int(os.environ.get("HANDOUTS_IDLE_SECONDS", 30 * 60))   # tests shorten it
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_NAME = "handouts_session"
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Strict"
CSRF_COOKIE_NAME = "handouts_csrf"
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = HTTPS
if HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SECURE_HSTS_SECONDS = 31536000

# Security headers. Content-Security-Policy (django-csp): scripts and styles from this site's own files only,
# never inline; no site may frame ours; a PDF preview is a blob: made by our own script.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CONTENT_SECURITY_POLICY = {"DIRECTIVES": {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "frame-src": ["'self'", "blob:"],
    "object-src": ["'self'", "blob:"],
    "frame-ancestors": ["'self'"],
    "form-action": ["'self'"],
    "base-uri": ["'none'"],
}}

STATIC_URL = "/static/"
WHITENOISE_USE_FINDERS = True          # served by the app from the package: no collectstatic step
WHITENOISE_AUTOREFRESH = False

LANGUAGE_CODE = "en"
TIME_ZONE = os.environ.get("HANDOUTS_TIME_ZONE", "UTC")
USE_I18N = False
USE_TZ = True

# Logs: no request bodies anywhere. Printing libraries' warnings can quote the text they print (a patient's name
# among it): the pipeline keeps them from the application's log while a sheet is printed, and these loggers stay
# at ERROR. An error report names the path and the exception's type and place, never its message or a body.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"one_line": {"()": "handouts.web.audit.OneLine"},
                "no_details": {"()": "handouts.web.audit.NoDetails"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["no_details", "one_line"]}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "weasyprint": {"level": "ERROR", "propagate": False, "handlers": []},
        "fontTools": {"level": "ERROR", "propagate": False, "handlers": []},
        "handouts.audit": {"level": "INFO", "handlers": ["console"], "propagate": False},
        "django.request": {"level": "ERROR", "handlers": ["console"], "propagate": False},
        "django.security": {"level": "WARNING", "handlers": ["console"], "propagate": False},
    },
}
