"""moto's EC2 on 127.0.0.1: where the offline world keeps VPCs, subnets and Network Monitor's footprint.

Network Monitor puts a security group (one per monitor and VPC) and a network interface (one per
probe) in the probes' VPC, and leaves the group behind when the probes and the monitor are gone.
The emulator creates that footprint here when probes are created (`emulator.network`), and the
handler's clean-up deletes the groups here, so that an offline deploy can show whether a stack
that holds its VPC can be destroyed. Any other EC2 endpoint works for the emulator too: the local
cloud uses ministack's.

EC2 itself is moto's (PyPI `moto`, widely used and maintained), answering through moto's own
request handling. moto 5.2.5 lacks three refusals that AWS makes, which are added here, each with
DependencyViolation as AWS answers it:
- DeleteSecurityGroup while a network interface uses the group;
- DeleteSubnet while a network interface is in the subnet;
- DeleteVpc while a security group other than its default is in the VPC (moto checks only subnets).

Requests are answered for the account of their access key when it is 12 digits (as the emulator and
ministack read it; moto's `x-moto-account-id`) and the region of their SigV4 scope. With a policy
installed for an account (`use_policy`), a caller's requests are authorized as IAM would, on the
resources the Service Authorization Reference names for each action
(`cdk_netmon.testing.service_authorization`), and refused with UnauthorizedOperation otherwise. The
service's own requests (the emulator's) and set-up requests (`client(..., principal="admin")`, for
a test's VPCs) are not: they carry the `x-cdk-netmon-principal` header.

moto keeps its state for the whole process: one LocalEc2 at a time, and each starts empty.
"""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

from .iam import AccessPolicy, arn_of, resources_asked

PRINCIPAL_HEADER = "x-cdk-netmon-principal"
Principal = Literal["caller", "admin", "service"]
_CREDENTIAL_SCOPE = re.compile(r"Credential=([^/,\s]+)/\d{8}/([a-z0-9-]+)/")
_RESOURCE_PARAMETERS = {
    "security-group": "GroupId",
    "subnet": "SubnetId",
    "vpc": "VpcId",
    "network-interface": "NetworkInterfaceId",
}
"""Which request parameter names the resource of each type, for the IAM check."""

_active = threading.Lock()


class Ec2Error(Exception):
    def __init__(self, code: str, status: int, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.status, self.message = code, status, message


def add_principal(client: Any, principal: Principal) -> Any:
    """Mark every request of `client` (of EC2, or of the Network Monitor emulator) as `principal`'s
    (the caller's carry no mark)."""
    if principal != "caller":

        def mark(request: Any, **_: Any) -> None:
            request.headers[PRINCIPAL_HEADER] = principal

        client.meta.events.register(f"before-sign.{client.meta.service_model.service_id.hyphenize()}", mark)
    return client


class LocalEc2:
    """moto's EC2 as a context manager, serving on 127.0.0.1 until the block ends."""

    def __init__(self, *, default_account: str = "123456789012", port: int = 0) -> None:
        self.default_account = default_account
        self.port = port
        self.policies: dict[str, AccessPolicy] = {}
        """Per account, the caller's permissions; an account without one is not checked."""
        self.before_request: Callable[[], None] | None = None
        """Called before each caller's request: the emulator settles what time has finished."""
        self.calls: list[str] = []
        """Every caller's action (not the service's or set-up's), in order."""
        self._server: ThreadingHTTPServer | None = None

    def __enter__(self) -> LocalEc2:
        if not _active.acquire(blocking=False):
            raise RuntimeError("moto keeps EC2's state per process: one LocalEc2 at a time")
        try:
            from moto.core.botocore_stubber import BotocoreStubber
            from moto.ec2.models import ec2_backends

            ec2_backends.reset()
            self._stub = BotocoreStubber()
            self._backends = ec2_backends
            ec2 = self

            class Handler(BaseHTTPRequestHandler):
                def do_POST(self) -> None:
                    ec2._serve(self)

                do_GET = do_POST

                def log_message(self, format: str, *args: Any) -> None:
                    pass

            self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
            self._server.daemon_threads = True
            threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        except BaseException:
            _active.release()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
            _active.release()

    @property
    def endpoint_url(self) -> str:
        assert self._server is not None, "use LocalEc2 as a context manager"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def client_options(self, account: str | None = None, region: str = "eu-west-1") -> dict[str, str]:
        """Keyword arguments for `boto3.client("ec2", ...)` that reach this EC2 as `account` in `region`."""
        return {
            "endpoint_url": self.endpoint_url,
            "region_name": region,
            "aws_access_key_id": account or self.default_account,
            "aws_secret_access_key": "local-ec2",
        }

    def client(self, account: str | None = None, region: str = "eu-west-1", principal: Principal = "admin") -> Any:
        """A boto3 EC2 client; by default an administrator's, whose requests no policy restricts."""
        import boto3

        return add_principal(boto3.client("ec2", **self.client_options(account, region)), principal)

    def use_policy(self, policy: AccessPolicy | None, account: str | None = None) -> None:
        key = account or self.default_account
        if policy is None:
            self.policies.pop(key, None)
        else:
            self.policies[key] = policy

    # -- HTTP ------------------------------------------------------------------------------------

    def _serve(self, http: BaseHTTPRequestHandler) -> None:
        length = int(http.headers.get("Content-Length") or 0)
        body = http.rfile.read(length) if length else b""
        found = _CREDENTIAL_SCOPE.search(http.headers.get("Authorization") or "")
        key, region = found.groups() if found else (self.default_account, "us-east-1")
        account = key if re.fullmatch(r"\d{12}", key) else self.default_account
        principal = http.headers.get(PRINCIPAL_HEADER, "caller")
        params = {k: v[0] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}
        action = params.get("Action", "")
        try:
            if principal == "caller":
                self.calls.append(action)
                if self.before_request is not None:
                    self.before_request()
                self._authorize(account, region, action, params)
            self._refuse_what_aws_refuses(account, region, action, params)
            status, headers, payload = self._moto(http, body, account, region)
        except Ec2Error as error:
            status, headers, payload = error.status, {"Content-Type": "text/xml"}, _error_xml(error)
        http.send_response(status)
        for name, value in headers.items():
            if name.lower() not in ("content-length", "transfer-encoding", "server", "date"):
                http.send_header(name, value)
        http.send_header("Content-Length", str(len(payload)))
        http.end_headers()
        http.wfile.write(payload)

    def _moto(
        self, http: BaseHTTPRequestHandler, body: bytes, account: str, region: str
    ) -> tuple[int, Mapping[str, str], bytes]:
        from botocore.awsrequest import AWSPreparedRequest
        from botocore.compat import HTTPHeaders

        headers = HTTPHeaders()
        for name, value in http.headers.items():
            headers[name] = value
        headers["x-moto-account-id"] = account
        request = AWSPreparedRequest(
            method=http.command,
            url=f"https://ec2.{region}.amazonaws.com{http.path}",
            headers=headers,
            body=body,
            stream_output=False,
        )
        answered = self._stub.process_request(request)
        if answered is None:
            raise Ec2Error("InternalError", 500, "moto did not recognise the request as EC2's")
        status, response_headers, payload = answered
        return int(status), dict(response_headers), payload if isinstance(payload, bytes) else str(payload).encode()

    def _authorize(self, account: str, region: str, action: str, params: Mapping[str, str]) -> None:
        policy = self.policies.get(account)
        if policy is None:
            return
        involved = {
            kind: arn_of("ec2", kind, region=region, account=account, name=params[parameter])
            for kind, parameter in _RESOURCE_PARAMETERS.items()
            if parameter in params
        }
        for resource in resources_asked(f"ec2:{action}", involved):
            if not policy.allows(f"ec2:{action}", resource):
                raise Ec2Error(
                    "UnauthorizedOperation",
                    403,
                    f"You are not authorized to perform this operation. User: arn:aws:sts::{account}:assumed-role/"
                    f"handler/handler is not authorized to perform: ec2:{action} on resource: {resource} because no "
                    "identity-based policy allows the action",
                )

    def _refuse_what_aws_refuses(self, account: str, region: str, action: str, params: Mapping[str, str]) -> None:
        backend = self._backends[account][region]
        refused = False
        if action == "DeleteSecurityGroup" and "GroupId" in params:
            refused = bool(backend.get_all_network_interfaces(filters={"group-id": [params["GroupId"]]}))
            what = f"resource {params['GroupId']} has a dependent object"
        elif action == "DeleteSubnet" and "SubnetId" in params:
            refused = bool(backend.get_all_network_interfaces(filters={"subnet-id": [params["SubnetId"]]}))
            what = f"The subnet '{params['SubnetId']}' has dependencies and cannot be deleted."
        elif action == "DeleteVpc" and "VpcId" in params:
            groups = backend.describe_security_groups(filters={"vpc-id": [params["VpcId"]]})
            refused = any(group.name != "default" for group in groups)
            what = f"The vpc '{params['VpcId']}' has dependencies and cannot be deleted."
        if refused:
            raise Ec2Error("DependencyViolation", 400, what)


def _error_xml(error: Ec2Error) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Response><Errors><Error><Code>{escape(error.code)}</Code><Message>{escape(error.message)}</Message>"
        f"</Error></Errors><RequestID>{uuid.uuid4()}</RequestID></Response>"
    ).encode()
