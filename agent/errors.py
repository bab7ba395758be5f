"""The one exception type that reaches the CLI boundary as a clear sentence."""


class UserError(Exception):
    """Something the user can fix: bad input, bad config, a dirty repository.

    The CLI prints ``kaizen: <message>`` on stderr and exits with ``exit_code``
    (2 for usage and configuration errors, 1 for a failed operation).
    """

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code
