"""`python build.py serve`: the app under gunicorn (a production WSGI server), one warm printer per worker."""

from __future__ import annotations

import os
import sys

from gunicorn.app.base import BaseApplication


class _Server(BaseApplication):
    def __init__(self, options: dict):
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        from .wsgi import application
        return application


def _post_fork(server, worker) -> None:
    """Each worker process loads the content and parses fonts and stylesheets once, before its first request."""
    from . import pipeline
    try:
        pipeline.warm()
    except Exception as exc:        # content with errors: the library says so; the app still serves
        server.log.warning("content not loaded at start: %s", type(exc).__name__)


def serve(host: str, port: int, workers: int | None = None) -> int:
    from .setup import django_ready, first_administrator, migrate
    django_ready()
    migrate()
    created = first_administrator()
    address = f"http://{'[' + host + ']' if ':' in host else host}:{port}"
    print(f"Handouts staff app: {address}/", flush=True)
    if created:
        name, password = created
        print(f"First start: sign in as '{name}' with the one-time password {password}", flush=True)
        print("(you choose your own password at the first sign-in; this one is not shown again)", flush=True)
    options = {
        "bind": f"{host}:{port}",
        "workers": workers or int(os.environ.get("HANDOUTS_WORKERS", os.cpu_count() or 1)),
        # Threads, not gunicorn's sync worker: a browser's idle pre-opened connection (Chromium opens some) waits in
        # the worker's poller instead of holding the whole process, and the library's pages and thumbnails are
        # served while a sheet prints. The printer itself prints one sheet at a time per process.
        "worker_class": "gthread",
        "threads": int(os.environ.get("HANDOUTS_THREADS", 4)),
        "keepalive": 5,
        "timeout": 120,
        "post_fork": _post_fork,
        "accesslog": "-",
        # The access log has the method, path and status: no query string (never patient details: those travel
        # in POST bodies only) and no referrer.
        "access_log_format": '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms',
        "errorlog": "-",
        "loglevel": "warning",
        "forwarded_allow_ips": os.environ.get("HANDOUTS_PROXY_IPS", "127.0.0.1"),
        "limit_request_line": 4094,
    }
    _Server(options).run()
    return 0
