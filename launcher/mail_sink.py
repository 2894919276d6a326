"""An SMTP server on 127.0.0.1 that accepts every message and keeps only a count.

Without EMAIL_HOST the service writes its emails (invitations, with names and
addresses) as files under var/mail; a run that only counts them points the
service here instead, as production points it at a mail server.
"""

import contextlib
import socketserver
import threading
from types import TracebackType


class _Session(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        # A sender killed mid-message (the chaos run kills workers) just ends its session.
        with contextlib.suppress(ConnectionError):
            self._converse()

    def _converse(self) -> None:
        sink: MailSink = self.server.sink  # type: ignore[attr-defined]
        self._reply("220 sink ESMTP")
        while line := self.rfile.readline():
            command = line.decode("ascii", errors="replace").strip().upper()
            if command.startswith(("EHLO", "HELO")):
                self._reply("250 sink")
            elif command == "DATA":
                self._reply("354 end with <CRLF>.<CRLF>")
                while (body := self.rfile.readline()) and body.rstrip(b"\r\n") != b".":
                    pass
                sink.count_message()
                self._reply("250 accepted")
            elif command == "QUIT":
                self._reply("221 bye")
                return
            else:  # MAIL FROM, RCPT TO, RSET, NOOP
                self._reply("250 ok")

    def _reply(self, text: str) -> None:
        self.wfile.write(f"{text}\r\n".encode())


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class MailSink:
    """`with MailSink() as sink:` listens on `sink.port` until the block ends."""

    def __init__(self) -> None:
        self._server = _Server(("127.0.0.1", 0), _Session)
        self._server.sink = self  # type: ignore[attr-defined]
        self.port: int = self._server.server_address[1]
        self.messages = 0
        self._lock = threading.Lock()

    def count_message(self) -> None:
        with self._lock:
            self.messages += 1

    def __enter__(self) -> "MailSink":
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
