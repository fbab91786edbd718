"""One exception tree for everything mcqueue raises on purpose."""


class McqueueError(Exception):
    """Root of every error mcqueue raises for bad input or a failing service."""


class DataError(McqueueError, ValueError):
    """A record, file or night is not usable; the message names the row, field and value."""


class ScenarioError(McqueueError, ValueError):
    """A scenario parameter (workers, replications, cv, ...) is out of range."""


class ServiceError(McqueueError):
    """A storage service (DynamoDB) failed in a way retries did not fix."""


class UsageError(McqueueError, ValueError):
    """The request itself is incomplete or contradictory (e.g. a file with several nights and
    no date chosen); the command line reports it as a usage error (exit 2)."""


class FormatError(McqueueError, ValueError):
    """A report format that the result type has no renderer for."""
