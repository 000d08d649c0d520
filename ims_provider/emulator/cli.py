"""The `ims-emulator` console script: serve until SIGINT/SIGTERM, announcing the home region's base URL on
one line, then one line per other region."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType
from typing import Any

from ims_provider.emulator.server import EmulatorServer
from ims_provider.emulator.settings import Identity, Settings


class _RegionAction(argparse.Action):
    """`--region` may be repeated: the first one is the home region (`args.region`), the others are
    `args.more_regions`."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        if getattr(namespace, "home_region_given", False):
            namespace.more_regions = [*namespace.more_regions, values]
        else:
            namespace.region, namespace.home_region_given = values, True


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ims-emulator", description="Local, stateful, wire-compatible emulator of Huawei Cloud IMS."
    )
    ident = Identity()
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default %(default)s)")
    parser.add_argument(
        "--port", type=int, default=8123, help="port; 0 picks a free one (default %(default)s)"
    )
    parser.add_argument("--access-key", default=ident.access_key, help="accepted AK (default %(default)s)")
    parser.add_argument("--secret-key", default=ident.secret_key, help="SK of that AK (default %(default)s)")
    parser.add_argument("--project-id", default=ident.project_id, help="the account's project id")
    parser.add_argument(
        "--region",
        action=_RegionAction,
        default=ident.region,
        metavar="REGION",
        help=f"a region to serve (repeat for more; the first is the home region; default {ident.region}); "
        "each region listens on its own port: PORT, PORT+1, ... (all free ports with --port 0)",
    )
    parser.add_argument(
        "--job-seconds",
        type=float,
        default=Settings.job_seconds,
        help="how long a job runs (default %(default)s)",
    )
    parser.add_argument(
        "--fixtures", metavar="FILE", help="JSON file of extra servers, volumes, objects, quotas"
    )
    parser.add_argument(
        "--no-defaults", action="store_true", help="start without the default seeded resources"
    )
    parser.add_argument(
        "--clock", choices=("real", "manual"), default="real", help="job clock (default %(default)s)"
    )
    parser.add_argument("--auth-token", help="also accept this X-Auth-Token instead of an AK/SK signature")
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    parser.set_defaults(more_regions=[])
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.verbose:
        logging.basicConfig(level=logging.DEBUG, format="%(asctime)s %(message)s")
    try:
        server = EmulatorServer(
            host=args.host,
            port=args.port,
            access_key=args.access_key,
            secret_key=args.secret_key,
            project_id=args.project_id,
            regions=[args.region, *args.more_regions],
            job_seconds=args.job_seconds,
            fixtures=args.fixtures,
            defaults=not args.no_defaults,
            clock_mode=args.clock,
            auth_token=args.auth_token,
        ).start()
    except (OSError, ValueError) as exc:
        print(f"ims-emulator: {exc}", file=sys.stderr)
        return 2
    stopping = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    print(f"ims-emulator listening on {server.url}", flush=True)
    for region in server.regions[1:]:
        print(f"ims-emulator region {region} listening on {server.url_for(region)}", flush=True)
    while not stopping.wait(0.5):
        pass
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
