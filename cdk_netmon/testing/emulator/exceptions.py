"""The emulated service's error responses, as botocore's model names them (moto keeps its in
`exceptions.py` too): each has the error code, HTTP status and message the protocol layer sends."""

from __future__ import annotations


class ServiceError(Exception):
    """An error response: the service's error code, HTTP status and message."""

    def __init__(self, code: str, status: int, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.status, self.message = code, status, message


def validation(message: str) -> ServiceError:
    return ServiceError("ValidationException", 400, message)


def not_found(message: str) -> ServiceError:
    return ServiceError("ResourceNotFoundException", 404, message)


def quota(message: str) -> ServiceError:
    return ServiceError("ServiceQuotaExceededException", 402, message)
