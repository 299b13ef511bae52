from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from tickets.importing import ImportFileError, import_file


class Command(BaseCommand):
    help = ("Import historical orders from a CSV file (id, user, subject, created_at, detail, "
            "[category], [likes], [dislikes]); re-importing skips rows already there.")

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--show-rejected", type=int, default=20,
                            help="list at most this many rejected rows (default 20)")

    def handle(self, *args, path, show_rejected, **options):
        try:
            with tqdm(desc="import", unit="row") as bar:
                result = import_file(path, progress=bar.update)
        except ImportFileError as exc:
            raise CommandError(str(exc))
        self.stdout.write(self.style.SUCCESS(
            f"read {result.read}, imported {result.imported}, already there "
            f"{result.skipped_existing}, rejected {len(result.rejected)}"))
        for reason, count in result.reasons().most_common():
            self.stdout.write(f"  rejected {count}: {reason}")
        for line, ext, reason in result.rejected[:show_rejected]:
            self.stdout.write(f"  line {line} (id {ext or '-'}): {reason}")
