from django.apps import AppConfig


class HotlineConfig(AppConfig):
    name = "hotline"
    verbose_name = "Hotline"

    def ready(self) -> None:
        from hotline import db

        db.connect()
