"""``manage.py fake_llm_server [--port N] [--delay S] [--mode M]``: the local OpenAI-compatible
server (``nudges.llm.fake_server``) in the foreground, for ``make run`` and the benchmark."""

from typing import Any

from django.core.management.base import CommandError, CommandParser

from engagement.commands import ApplicationCommand
from nudges.llm.fake_server import MODES, FakeLLMServer


class Command(ApplicationCommand):
    help = (
        "Serve OpenAI-compatible chat completions (streaming included) locally: point "
        "OPENAI_BASE_URL at the printed URL with any OPENAI_API_KEY. Another process changes "
        'the answers with POST /_fake/configure {"mode": ..., "delay": ...}.'
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="Address to listen on.")
        parser.add_argument("--port", type=int, default=8100, help="Port (0: any free one).")
        parser.add_argument(
            "--delay", type=float, default=0.0, help="Seconds before every answer (e.g. 0.3)."
        )
        parser.add_argument("--mode", choices=MODES, default="normal", help="How to answer.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["delay"] < 0:
            raise CommandError("--delay must be 0 or more seconds.")
        try:
            server = FakeLLMServer(options["host"], options["port"], delay=options["delay"])
        except OSError as error:
            raise CommandError(
                f"Cannot listen on {options['host']}:{options['port']}: {error.strerror}."
            ) from error
        server.configure(mode=options["mode"])
        self.stdout.write(
            f"Fake LLM server on {server.base_url} (mode {options['mode']}, delay "
            f"{options['delay']} s). Ctrl-C stops it.",
        )
        self.stdout.flush()
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            self.stdout.write("Stopped.")
