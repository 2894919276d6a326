"""Progress output for long commands: one line rewritten in place on a terminal, else a line
every few pages (cron and log files get plain lines, never control characters)."""

from django.core.management.base import OutputWrapper


class ProgressLine:
    """Shows a running count; `every` pages between lines when the output is not a terminal."""

    def __init__(self, out: OutputWrapper, *, every: int = 20) -> None:
        self.out = out
        self.every = every
        self.tty = out.isatty()
        self._shown = False

    def update(self, text: str, *, step: int) -> None:
        """Show `text`; `step` counts pages, so that plain output can thin itself out."""
        if self.tty:
            self.out.write(f"\r\033[K{text}", ending="")
            self.out.flush()
            self._shown = True
        elif step % self.every == 0:
            self.out.write(text)

    def done(self, text: str | None = None) -> None:
        """End the progress line (and print `text`, e.g. the phase's final count)."""
        if self._shown:
            self.out.write("\r\033[K", ending="")
            self._shown = False
        if text:
            self.out.write(text)
