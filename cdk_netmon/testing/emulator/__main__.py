"""The emulator as a standalone server, for local clouds (ministack, LocalStack) and scripts.

    python -m cdk_netmon.testing.emulator serve --port 4599 --clock-scale 10 --endpoint-file emulator.url

Point an SDK client at it with AWS_ENDPOINT_URL_NETWORKMONITOR (the URL it prints and writes to
--endpoint-file). Probes leave the service's footprint (security groups, network interfaces) in
the EC2 at --ec2-endpoint, a local cloud's; without it, in moto's EC2, served beside the emulator
(its URL is printed too). Its clock advances by itself, --clock-scale virtual seconds per real second, so
that monitors leave PENDING while a real engine polls. `GET /_emulator/state` answers every
account and region's monitors as JSON. It stops cleanly on SIGTERM or SIGINT, removing the
endpoint file.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from . import LocalNetworkMonitor


def serve(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cdk_netmon.testing.emulator serve", description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="on 127.0.0.1 (default: any free port)")
    parser.add_argument("--clock-scale", type=float, default=10.0, help="virtual seconds per real second (default 10)")
    parser.add_argument("--pending-seconds", type=float, default=60.0, help="virtual seconds PENDING (default 60)")
    parser.add_argument("--deleting-seconds", type=float, default=20.0, help="virtual seconds DELETING (default 20)")
    parser.add_argument("--settling-writes", choices=["accept", "refuse"], default="accept")
    parser.add_argument(
        "--probes-per-monitor", type=int, help="the quota, where an account's is raised (default: the service's, 24)"
    )
    parser.add_argument(
        "--probes-per-subnet", type=int, help="the quota, where an account's is raised (default: the service's, 4)"
    )
    parser.add_argument("--endpoint-file", type=Path, help="write the endpoint URL here once serving")
    parser.add_argument(
        "--ec2-endpoint", help="the EC2 where probes leave their footprint (default: moto's, started here)"
    )
    # Every option but the endpoint file is LocalNetworkMonitor's keyword of the same name.
    options = vars(parser.parse_args(argv))
    endpoint_file: Path | None = options.pop("endpoint_file")

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    with LocalNetworkMonitor(**options) as emulator:
        if endpoint_file is not None:
            endpoint_file.write_text(emulator.endpoint_url + "\n")
        print(
            f"Network Monitor emulator serving at {emulator.endpoint_url}, its EC2 at {emulator.ec2_endpoint_url}",
            flush=True,
        )
        try:
            stop.wait()
        finally:
            if endpoint_file is not None:
                endpoint_file.unlink(missing_ok=True)
    print("Network Monitor emulator stopped", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else argv
    if not arguments or arguments[0] != "serve":
        print("usage: python -m cdk_netmon.testing.emulator serve [options]  (serve --help for them)", file=sys.stderr)
        return 2
    return serve(arguments[1:])


if __name__ == "__main__":
    sys.exit(main())
