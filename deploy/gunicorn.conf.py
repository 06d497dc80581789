"""gunicorn settings for the API; nginx's proxy timeouts (deploy/nginx.conf) sit just above
`timeout` so that a slow request ends in gunicorn, with a log line, not in nginx."""
import os

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = 1
timeout = 30
graceful_timeout = 20
keepalive = 5
accesslog = "-"
errorlog = "-"
