"""The unsigned admin API under /_emulator/: seed resources (in any region, for any account), add accounts,
inject faults, read the request log, drive the clock, change settings, inspect and reset state. Loopback
callers only; never logged; the same global state behind every region's listener.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from ims_provider.emulator.backend import Backend
from ims_provider.emulator.errors import ImsError
from ims_provider.emulator.wire import is_loopback, json_response, parse_json

ADMIN_MAP = Map(
    [
        Rule("/_emulator/health", methods=["GET"], endpoint="health"),
        Rule("/_emulator/servers", methods=["POST"], endpoint="add_server"),
        Rule("/_emulator/servers/<server_id>", methods=["PATCH"], endpoint="update_server"),
        Rule("/_emulator/volumes", methods=["POST"], endpoint="add_volume"),
        Rule("/_emulator/objects", methods=["POST"], endpoint="add_object"),
        Rule("/_emulator/vaults", methods=["POST"], endpoint="add_vault"),
        Rule("/_emulator/images", methods=["POST"], endpoint="add_image"),
        Rule("/_emulator/accounts", methods=["GET"], endpoint="list_accounts"),
        Rule("/_emulator/accounts", methods=["POST"], endpoint="add_account"),
        Rule("/_emulator/accounts/<name>/agencies", methods=["POST"], endpoint="add_agency"),
        Rule("/_emulator/faults", methods=["GET"], endpoint="list_faults"),
        Rule("/_emulator/faults", methods=["POST"], endpoint="add_fault"),
        Rule("/_emulator/faults", methods=["DELETE"], endpoint="clear_faults"),
        Rule("/_emulator/faults/<fault_id>", methods=["DELETE"], endpoint="delete_fault"),
        Rule("/_emulator/requests", methods=["GET"], endpoint="list_requests"),
        Rule("/_emulator/requests", methods=["DELETE"], endpoint="clear_requests"),
        Rule("/_emulator/clock", methods=["GET"], endpoint="get_clock"),
        Rule("/_emulator/clock", methods=["POST"], endpoint="set_clock"),
        Rule("/_emulator/clock/advance", methods=["POST"], endpoint="advance_clock"),
        Rule("/_emulator/settings", methods=["GET"], endpoint="get_settings"),
        Rule("/_emulator/settings", methods=["PUT", "PATCH"], endpoint="put_settings"),
        Rule("/_emulator/state", methods=["GET"], endpoint="state"),
        Rule("/_emulator/reset", methods=["POST"], endpoint="reset"),
    ],
    strict_slashes=False,
)


def _error(status: int, message: str) -> Response:
    return json_response({"error": message}, status)


def _object(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError("the body must be a JSON object")
    return value


class AdminRoutes:
    """Handlers for /_emulator/*; ValueError means 400, KeyError means 404."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    def handle(self, request: Request) -> Response:
        if not is_loopback(request.remote_addr):
            return _error(403, "the admin API accepts loopback clients only")
        try:
            endpoint, matched = ADMIN_MAP.bind_to_environ(request.environ).match()
            args = dict(matched)
        except HTTPException as exc:
            return _error(exc.code or 404, f"no admin endpoint {request.method} {request.path}")
        handler: Callable[..., Response] = getattr(self, f"_ep_{endpoint}")
        try:
            body = parse_json(request.get_data()) if request.method in ("POST", "PUT", "PATCH") else None
            if endpoint == "state":
                args["region"] = request.args.get("region")
            return handler(body, **args)
        except ImsError as exc:
            return _error(400, exc.message)
        except ValueError as exc:
            return _error(400, str(exc))
        except KeyError as exc:
            return _error(404, f"not found: {exc.args[0]}")

    def _ep_health(self, body: Any) -> Response:
        return json_response({"status": "ok"})

    def _ep_add_server(self, body: Any) -> Response:
        return json_response(self.backend.add_server(_object(body)), 201)

    def _ep_update_server(self, body: Any, server_id: str) -> Response:
        return json_response(self.backend.update_server(server_id, _object(body)))

    def _ep_add_volume(self, body: Any) -> Response:
        return json_response(self.backend.add_volume(_object(body)), 201)

    def _ep_add_object(self, body: Any) -> Response:
        return json_response(self.backend.add_object(_object(body)), 201)

    def _ep_add_vault(self, body: Any) -> Response:
        return json_response(self.backend.add_vault(_object(body)), 201)

    def _ep_add_image(self, body: Any) -> Response:
        return json_response(self.backend.add_image(_object(body)), 201)

    def _ep_list_accounts(self, body: Any) -> Response:
        return json_response({"accounts": self.backend.accounts.describe()})

    def _ep_add_account(self, body: Any) -> Response:
        return json_response(self.backend.add_account(_object(body)), 201)

    def _ep_add_agency(self, body: Any, name: str) -> Response:
        spec = _object(body)
        if set(spec) != {"name"}:
            raise ValueError('the body is {"name": "<agency name>"}')
        return json_response(self.backend.add_agency(name, spec["name"]), 201)

    def _ep_list_faults(self, body: Any) -> Response:
        return json_response({"faults": self.backend.faults.list()})

    def _ep_add_fault(self, body: Any) -> Response:
        fault = self.backend.faults.add(_object(body))
        return json_response({"id": fault.id, "fault": fault.to_dict()}, 201)

    def _ep_clear_faults(self, body: Any) -> Response:
        self.backend.faults.clear()
        return json_response({"faults": []})

    def _ep_delete_fault(self, body: Any, fault_id: str) -> Response:
        if not self.backend.faults.remove(fault_id):
            raise KeyError(fault_id)
        return json_response({"deleted": fault_id})

    def _ep_list_requests(self, body: Any) -> Response:
        return json_response({"requests": self.backend.log.entries()})

    def _ep_clear_requests(self, body: Any) -> Response:
        self.backend.log.clear()
        return json_response({"requests": []})

    def _ep_get_clock(self, body: Any) -> Response:
        return json_response(self.backend.clock.describe())

    def _ep_set_clock(self, body: Any) -> Response:
        spec = _object(body)
        if set(spec) - {"mode", "scale"}:
            raise ValueError('the clock body is {"mode": "real"|"manual", "scale"?: number}')
        scale = spec.get("scale")
        if scale is not None and (isinstance(scale, bool) or not isinstance(scale, (int, float))):
            raise ValueError("scale must be a number")
        self.backend.clock.set_mode(str(spec.get("mode", self.backend.clock.mode)), scale=scale)
        return json_response(self.backend.clock.describe())

    def _ep_advance_clock(self, body: Any) -> Response:
        seconds = _object(body).get("seconds")
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
            raise ValueError('the body is {"seconds": number}')
        self.backend.clock.advance(float(seconds))
        return json_response(self.backend.clock.describe())

    def _ep_get_settings(self, body: Any) -> Response:
        return json_response(self.backend.settings.to_dict())

    def _ep_put_settings(self, body: Any) -> Response:
        return json_response(self.backend.update_settings(_object(body)))

    def _ep_state(self, body: Any, region: str | None) -> Response:
        return json_response(self.backend.state(region))

    def _ep_reset(self, body: Any) -> Response:
        self.backend.reset()
        return json_response({"status": "reset"})
