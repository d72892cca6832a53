"""gunicorn settings for the production web server (docker-compose and the benchmarks read this
file: gunicorn loads ./gunicorn.conf.py by default).

Threaded workers: a sync worker that spends longer than `timeout` on one request is killed, and
an audit export streamed to a slow client can take minutes; a gthread worker's main loop keeps
telling the arbiter it is alive while its threads stream.
"""

import os

worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 30
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None
