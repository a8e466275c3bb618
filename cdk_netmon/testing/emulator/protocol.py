"""The REST-JSON side of the emulator: routes, identity, validation, dispatch and error responses.

Routes come from botocore's service model, so every operation the SDK can send is recognised.
Parameters are validated with botocore's own validator plus the model's regex patterns and maxima,
which botocore does not check. Dispatch is generic: operation `CreateMonitor` calls the backend's
`create_monitor` with the parameters in snake case. A request is answered for the account and
region it was signed for: the region from its SigV4 credential scope, the account from its access
key (see `Identity`).
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import botocore.session
from botocore import xform_name
from botocore.model import OperationModel, Shape
from botocore.validate import ParamValidator

from cdk_netmon.testing.defaults import DEFAULT_ACCOUNT, DEFAULT_REGION

from .exceptions import ServiceError, validation

log = logging.getLogger(__name__)

_CREDENTIAL_SCOPE = re.compile(r"Credential=([^/,\s]+)/\d{8}/([a-z0-9-]+)/")


@dataclass(frozen=True)
class Route:
    operation: OperationModel
    method: str
    pattern: re.Pattern[str]


@dataclass(frozen=True)
class Request:
    """One parsed request: who sent it, for which region, and what it asks."""

    operation: str
    account: str
    region: str
    params: dict[str, Any]
    """The API's parameters, in snake case, as the backend's methods take them."""

    @property
    def operation_method(self) -> str:
        """The backend method that answers it: `create_monitor` for CreateMonitor."""
        return str(xform_name(self.operation))


@dataclass(frozen=True)
class Identity:
    """Which account an access key belongs to.

    An access key id of 12 digits is that account (as moto and ministack read one); `accounts` maps
    other access key ids; anything else is `default_account`."""

    accounts: Mapping[str, str]
    default_account: str = DEFAULT_ACCOUNT
    default_region: str = DEFAULT_REGION

    def of(self, authorization: str | None) -> tuple[str, str]:
        found = _CREDENTIAL_SCOPE.search(authorization or "")
        if found is None:
            return self.default_account, self.default_region
        key, region = found.groups()
        account = self.accounts.get(key) or (key if re.fullmatch(r"[0-9]{12}", key) else self.default_account)
        return account, region


def load_routes() -> list[Route]:
    model = botocore.session.get_session().get_service_model("networkmonitor")
    routes = []
    for name in model.operation_names:
        operation = model.operation_model(name)
        uri = operation.http["requestUri"].split("?")[0]
        pattern = re.sub(r"\{(\w+)\+?\}", r"(?P<\1>[^/]+)", uri)
        routes.append(Route(operation, operation.http["method"], re.compile(f"^{pattern}$")))
    return routes


def check_patterns(shape: Shape, value: Any, path: str) -> list[str]:
    """The model's regex patterns and maxima, which botocore's validator leaves unchecked."""
    problems: list[str] = []
    if shape.type_name == "structure" and isinstance(value, dict):
        for member, member_shape in shape.members.items():
            if member in value:
                problems += check_patterns(member_shape, value[member], f"{path}.{member}")
    elif shape.type_name == "list" and isinstance(value, list):
        for index, item in enumerate(value):
            problems += check_patterns(shape.member, item, f"{path}[{index}]")
    elif shape.type_name == "map" and isinstance(value, dict):
        for key, item in value.items():
            problems += check_patterns(shape.key, key, f"{path} key")
            problems += check_patterns(shape.value, item, f"{path}.{key}")
    elif shape.type_name == "string" and isinstance(value, str):
        pattern = shape.metadata.get("pattern")
        if pattern and not re.fullmatch(pattern, value, re.ASCII):
            problems.append(f"{path} {value!r} does not match {pattern}")
        limit = shape.metadata.get("max")
        if limit is not None and len(value) > limit:
            problems.append(f"{path} is longer than {limit}")
    elif shape.type_name in ("integer", "long") and isinstance(value, int):
        limit = shape.metadata.get("max")
        if limit is not None and value > limit:
            problems.append(f"{path} {value} is greater than {limit}")
    return problems


class Protocol:
    """Turns HTTP requests into backend calls and their results into HTTP responses."""

    def __init__(self, identity: Identity) -> None:
        self.identity = identity
        self.routes = load_routes()
        self.validator = ParamValidator()

    def parse(self, method: str, target: str, authorization: str | None, body: bytes) -> Request:
        url = urlsplit(target)
        route, labels = self._route(method, url.path)
        account, region = self.identity.of(authorization)
        params = self._params(route.operation, labels, parse_qs(url.query), body)
        return Request(route.operation.name, account, region, {str(xform_name(k)): v for k, v in params.items()})

    def answer(self, call: Callable[[], Mapping[str, Any]]) -> tuple[int, dict[str, str], bytes]:
        """Run a parsed request's handling and render what it returns or raises, a 500 included."""
        try:
            return self._response(200, call())
        except ServiceError as error:
            return self._response(error.status, {"message": error.message}, error.code)
        except Exception as error:  # the emulator's own bug: say so, as the service's 500 would
            log.exception("emulator error")
            message = f"Internal error in the emulator: {type(error).__name__}: {error}"
            return self._response(500, {"message": message}, "InternalServerException")

    def operation_of(self, method: str, target: str) -> str:
        return str(self._route(method, urlsplit(target).path)[0].operation.name)

    def _route(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        for route in self.routes:
            match = route.pattern.match(path)
            if route.method == method and match:
                return route, {k: unquote(v) for k, v in match.groupdict().items()}
        raise ServiceError("UnknownOperationException", 404, f"No operation for {method} {path}")

    def _params(
        self, operation: OperationModel, labels: Mapping[str, str], query: Mapping[str, list[str]], body: bytes
    ) -> dict[str, Any]:
        shape = operation.input_shape
        params: dict[str, Any] = json.loads(body) if body else {}
        for member, member_shape in shape.members.items():
            location = member_shape.serialization.get("location")
            wire_name = member_shape.serialization.get("name", member)
            if location == "uri" and wire_name in labels:
                params[member] = labels[wire_name]
            elif location == "querystring" and wire_name in query:
                values = query[wire_name]
                if member_shape.type_name == "list":
                    params[member] = values
                elif member_shape.type_name in ("integer", "long"):
                    params[member] = int(values[0])
                else:
                    params[member] = values[0]
        report = self.validator.validate(params, shape)
        problems = [report.generate_report()] if report.has_errors() else []
        problems += check_patterns(shape, params, operation.name)
        if problems:
            raise validation("; ".join(problems))
        return params

    @staticmethod
    def _response(status: int, body: Mapping[str, Any], code: str | None = None) -> tuple[int, dict[str, str], bytes]:
        payload = json.dumps(body).encode()
        headers = {
            "Content-Type": "application/json",
            "Content-Length": str(len(payload)),
            "x-amzn-RequestId": str(uuid.uuid4()),
        }
        if code is not None:
            headers["x-amzn-ErrorType"] = code
        return status, headers, payload
