"""Why a callout was refused, as an exception the view turns into an answer."""

from http import HTTPStatus


class CalloutRejected(Exception):
    """A callout that is not recorded, with the status Zuora gets back.

    `outcome` is a short word for the log; `error` is the sentence in the JSON
    body, which tells whoever configures Zuora what to change.
    """

    def __init__(
        self,
        status: HTTPStatus,
        outcome: str,
        error: str,
        *,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(error)
        self.status = status
        self.outcome = outcome
        self.error = error
        self.headers = headers or {}
