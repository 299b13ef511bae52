"""Start the whole platform in the foreground: web (gunicorn), a Celery worker and Celery beat.
Ctrl-C stops all three; if one dies, the others are stopped too."""

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from tickets.demo import DEMO_PASSWORD, DEMO_USERS


class Command(BaseCommand):
    help = "Run web + Celery worker + Celery beat together (the platform of `make run`)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--web-workers", type=int, default=2)

    def handle(self, *args, host, port, web_workers, **options):
        call_command("collectstatic", interactive=False, verbosity=0)
        (settings.VAR_DIR / "broker" / "queue").mkdir(parents=True, exist_ok=True)
        (settings.VAR_DIR / "broker" / "processed").mkdir(parents=True, exist_ok=True)
        bin_dir = os.path.dirname(sys.executable)
        env = dict(os.environ)
        commands = {
            "web": [os.path.join(bin_dir, "gunicorn"), "hotline.wsgi", "--bind", f"{host}:{port}",
                    "--workers", str(web_workers), "--access-logfile", "-"],
            "worker": [os.path.join(bin_dir, "celery"), "-A", "hotline", "worker",
                       "--loglevel", "info", "--concurrency", "1"],
            "beat": [os.path.join(bin_dir, "celery"), "-A", "hotline", "beat", "--loglevel",
                     "info", "--schedule", settings.CELERY_BEAT_SCHEDULE_FILENAME],
        }
        children = {name: subprocess.Popen(cmd, env=env) for name, cmd in commands.items()}
        db = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
        broker = settings.CELERY_BROKER_URL.split("://", 1)[0]
        self.stdout.write(self.style.SUCCESS(
            f"\n12345 hotline platform running at http://{host}:{port}/  "
            f"(database: {db}, broker: {broker})"))
        self.stdout.write(f"admin: http://{host}:{port}/admin/   API docs: http://{host}:{port}/api/docs/")
        self.stdout.write(f"demo logins (password '{DEMO_PASSWORD}'):")
        for username, role, _unit, display in DEMO_USERS:
            self.stdout.write(f"  {username:<11} {role:<17} {display}")
        self.stdout.write("Ctrl-C stops everything.\n")

        stopping = False

        def stop(*_):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            while not stopping:
                for name, child in children.items():
                    if child.poll() is not None:
                        self.stderr.write(f"{name} exited with {child.returncode}: stopping")
                        stopping = True
                time.sleep(0.5)
        finally:
            for child in children.values():
                if child.poll() is None:
                    child.terminate()
            deadline = time.monotonic() + 10
            for child in children.values():
                try:
                    child.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    child.kill()
