"""Worker errors. Each class carries the gRPC status code it maps to; the mapping to gRPC happens in one place
(the servicer), so nothing below the servicer imports grpc."""


class WorkerError(Exception):
    status = "INTERNAL"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class InvalidArgument(WorkerError):
    """The request itself is wrong (unknown model, malformed data file, bad ranks). Not retried."""

    status = "INVALID_ARGUMENT"


class FailedPrecondition(WorkerError):
    """The request is well formed but the worker cannot serve it as it is (missing package, no hub). Not retried."""

    status = "FAILED_PRECONDITION"


class ResourceExhausted(WorkerError):
    status = "RESOURCE_EXHAUSTED"


class Unavailable(WorkerError):
    """Transient trouble; the control plane retries with backoff."""

    status = "UNAVAILABLE"


class Cancelled(WorkerError):
    status = "CANCELLED"
