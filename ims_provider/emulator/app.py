"""The emulator's WSGI application: API-gateway behaviour (routing, auth, faults, request log) in front of
the IMS and IAM routes, plus the unsigned loopback-only admin API under /_emulator/.
"""

from __future__ import annotations

import hmac
import itertools
import logging
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from ims_provider.emulator import osversions, signing
from ims_provider.emulator.accounts import DEFAULT_ACCOUNT, Caller
from ims_provider.emulator.admin_routes import AdminRoutes
from ims_provider.emulator.backend import Backend
from ims_provider.emulator.errors import GatewayError, ImsError
from ims_provider.emulator.faults import Fault
from ims_provider.emulator.wire import (
    drop_connection,
    json_response,
    loggable_body,
    no_content,
    parse_json,
    require_json,
)

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

logger = logging.getLogger("ims_provider.emulator")
MAX_BODY = 1024 * 1024
NOT_FOUND = GatewayError(
    404, "APIGW.0101", "The API does not exist or has not been published in the environment"
)

IMS_MAP = Map(
    [
        Rule("/v2/cloudimages/action", methods=["POST"], endpoint="create"),
        Rule("/v2.1/cloudimages/action", methods=["POST"], endpoint="create"),
        Rule("/v1/cloudimages/job/<job_id>", methods=["GET"], endpoint="job"),
        Rule("/v1/<project_id>/jobs/<job_id>", methods=["GET"], endpoint="job"),
        Rule("/v2/cloudimages", methods=["GET"], endpoint="list_images"),
        Rule("/v2/cloudimages/<image_id>", methods=["PATCH"], endpoint="update_image"),
        Rule("/v2/images/<image_id>", methods=["GET"], endpoint="show_image"),
        Rule("/v2/images/<image_id>", methods=["DELETE"], endpoint="delete_image"),
        Rule("/v2/<project_id>/images/<image_id>/tags/action", methods=["POST"], endpoint="tags_action"),
        Rule("/v2/<project_id>/images/<image_id>/tags", methods=["GET"], endpoint="list_tags"),
        Rule("/v1/cloudimages/os_version", methods=["GET"], endpoint="os_versions"),
        Rule("/v1/cloudimages/quota", methods=["GET"], endpoint="quota"),
        Rule("/v1/cloudimages/<image_id>/copy", methods=["POST"], endpoint="copy_in_region"),
        Rule("/v2.1/cloudimages/<image_id>/copy", methods=["POST"], endpoint="copy_in_region"),
        Rule("/v1/cloudimages/<image_id>/cross_region_copy", methods=["POST"], endpoint="copy_cross_region"),
        Rule("/v1/cloudimages/members", methods=["POST"], endpoint="add_members"),
        Rule("/v1/cloudimages/members", methods=["PUT"], endpoint="update_members"),
        Rule("/v1/cloudimages/members", methods=["DELETE"], endpoint="delete_members"),
        Rule("/v1/<project_id>/cloudimages/<image_id>/members", methods=["GET"], endpoint="list_members"),
        Rule(
            "/v1/<project_id>/cloudimages/<image_id>/members/<member_id>",
            methods=["GET"],
            endpoint="show_member",
        ),
        Rule("/v2/images/<image_id>/members", methods=["GET"], endpoint="glance_list_members"),
        Rule("/v2/images/<image_id>/members/<member_id>", methods=["GET"], endpoint="show_member"),
        Rule("/v3/projects", methods=["GET"], endpoint="projects"),
    ],
    strict_slashes=False,
    merge_slashes=False,
)


def _utf8(value: str) -> str:
    """WSGI hands header values over as latin-1; signatures are computed over their UTF-8 text."""
    try:
        return value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value


class EmulatorApp:
    """WSGI callable serving one region's endpoint; everything stateful lives in the Backend it wraps (one
    backend behind every region's listener)."""

    def __init__(self, backend: Backend, *, region: str | None = None, max_body: int = MAX_BODY) -> None:
        self.backend = backend
        self.region = region or backend.home
        if self.region not in backend.regions:
            raise ValueError(f"the backend does not serve region {self.region}")
        self.max_body = max_body
        self.admin = AdminRoutes(backend)
        self._seq = itertools.count(1)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        if request.path == "/_emulator" or request.path.startswith("/_emulator/"):
            response = self.admin.handle(request)
        else:
            response = self._api(request)
        return response(environ, start_response)

    # ------------------------------------------------------------------ gateway

    def _api(self, request: Request) -> Response:
        request_id = uuid.uuid4().hex
        started = time.monotonic()
        request.max_content_length = self.max_body
        try:
            body = request.get_data(cache=True)
            too_large = False
        except RequestEntityTooLarge:
            body, too_large = b"", True
        entry = self.backend.log.add(
            {
                "seq": next(self._seq),
                "time": datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                "method": request.method,
                "region": self.region,
                "path": request.path,
                "query": dict(request.args.items()),
                "headers": dict(request.headers.items()),
                "body": loggable_body(body),
                "status": None,
                "request_id": request_id,
                "fault": None,
                "dropped": None,
                "duration_ms": None,
                "latency": None,
            }
        )
        faults = self.backend.faults.for_request(request.method, request.path, self.region)
        if faults.latency:
            self.backend.log.complete(entry, latency=faults.latency)
            time.sleep(faults.latency)
        action = faults.action
        if action is not None and action.kind == "drop_before" and drop_connection(request.environ):
            self.backend.log.complete(entry, fault=action.id, dropped="before", duration_ms=self._ms(started))
            return Response(b"", status=500)
        if action is not None and action.kind == "status":
            payload = action.response_body(request_id)
            if payload is None:
                response = Response(b"", status=action.status, headers=action.headers)
            else:
                response = json_response(payload, action.status, action.headers)
        elif too_large:
            response = self._gateway_error(
                GatewayError(413, "APIGW.0201", "Request entity too large"), request_id
            )
        else:
            response = self._dispatch(request, body, request_id)
        response.headers["X-Request-Id"] = request_id
        if action is not None and action.kind == "drop_after" and drop_connection(request.environ):
            self.backend.log.complete(
                entry,
                fault=action.id,
                dropped="after",
                processed_status=response.status_code,
                duration_ms=self._ms(started),
            )
            return response
        self.backend.log.complete(
            entry,
            status=response.status_code,
            fault=action.id if action else None,
            duration_ms=self._ms(started),
        )
        return response

    @staticmethod
    def _ms(started: float) -> float:
        return round((time.monotonic() - started) * 1000, 3)

    @staticmethod
    def _gateway_error(error: GatewayError, request_id: str) -> Response:
        return json_response(error.body(request_id), error.status)

    def _dispatch(self, request: Request, body: bytes, request_id: str) -> Response:
        try:
            endpoint, matched = IMS_MAP.bind_to_environ(request.environ).match()
        except HTTPException:
            return self._gateway_error(NOT_FOUND, request_id)
        args = dict(matched)
        try:
            caller = self._authenticate(request, body)
            project_id = args.pop("project_id", None)
            if endpoint != "projects":
                self._check_project(request, project_id, caller)
            handler: Callable[..., Response] = getattr(self, f"_ep_{endpoint}")
            return handler(request, body, caller, **args)
        except GatewayError as error:
            return self._gateway_error(error, request_id)
        except ImsError as error:
            return json_response(error.body(), error.status)
        except Exception:  # a bug in the emulator: answer like IMS would, keep the traceback in the log
            logger.exception("unexpected error handling %s %s", request.method, request.path)
            return json_response(ImsError(500, "IMG.0061", "Unknown system error.").body(), 500)

    def _authenticate(self, request: Request, body: bytes) -> Caller:
        """The account behind the request's AK/SK signature (or token), acting in this listener's region."""
        token = request.headers.get("X-Auth-Token")
        accounts = self.backend.accounts
        if token is not None:
            expected = self.backend.settings.auth_token
            if expected is not None and hmac.compare_digest(token.encode(), expected.encode()):
                return Caller(accounts.named(DEFAULT_ACCOUNT), self.region)
            account = accounts.by_token(token)
            if account is None:
                raise GatewayError(
                    401, "APIGW.0301", "Incorrect IAM authentication information: decrypt token fail"
                )
            return Caller(account, self.region)
        headers = {name.lower(): _utf8(value) for name, value in request.headers.items()}
        query = parse_qsl(request.query_string.decode("utf-8", errors="replace"), keep_blank_values=True)
        try:
            access_key = signing.verify(
                method=request.method,
                path=request.path,
                query=query,
                headers=headers,
                body=body,
                credentials=accounts.secrets(),
            )
        except signing.SignatureError as error:
            raise GatewayError(
                401, "APIGW.0301", f"Incorrect IAM authentication information: {error}"
            ) from None
        account = accounts.by_access_key(access_key)
        assert account is not None  # verify() only accepts known access keys
        return Caller(account, self.region)

    @staticmethod
    def _check_project(request: Request, path_project: str | None, caller: Caller) -> None:
        expected = caller.project_id
        header = request.headers.get("X-Project-Id")
        if header is not None and header != expected:
            raise ImsError(
                403, "IMG.0026", "The X-Project-Id header names a project these credentials cannot use."
            )
        if path_project is not None and path_project != expected:
            raise ImsError(
                403, "IMG.0026", f"The project {path_project} in the path is not the caller's project."
            )

    # ------------------------------------------------------------------ IMS / IAM endpoints

    def _job_fault_source(self, request: Request) -> Callable[[], Fault | None]:
        method, path, region = request.method, request.path, self.region
        return lambda: self.backend.faults.take_job_fault(method, path, region)

    def _ep_create(self, request: Request, body: bytes, caller: Caller) -> Response:
        require_json(request)
        job_id = self.backend.create_image(caller, parse_json(body), self._job_fault_source(request))
        return json_response({"job_id": job_id})

    def _ep_job(self, request: Request, body: bytes, caller: Caller, job_id: str) -> Response:
        return json_response(self.backend.get_job(caller, job_id))

    def _ep_list_images(self, request: Request, body: bytes, caller: Caller) -> Response:
        return json_response({"images": self.backend.list_images(caller, request.args.to_dict(flat=False))})

    def _ep_show_image(self, request: Request, body: bytes, caller: Caller, image_id: str) -> Response:
        return json_response(self.backend.get_image(caller, image_id))

    def _ep_update_image(self, request: Request, body: bytes, caller: Caller, image_id: str) -> Response:
        require_json(request, patch=True)
        return json_response(self.backend.update_image(caller, image_id, parse_json(body)))

    def _ep_tags_action(self, request: Request, body: bytes, caller: Caller, image_id: str) -> Response:
        require_json(request)
        self.backend.tags_action(caller, image_id, parse_json(body))
        return no_content()

    def _ep_list_tags(self, request: Request, body: bytes, caller: Caller, image_id: str) -> Response:
        return json_response({"tags": self.backend.list_tags(caller, image_id)})

    def _ep_delete_image(self, request: Request, body: bytes, caller: Caller, image_id: str) -> Response:
        if body.strip():
            require_json(request)
        self.backend.delete_image(caller, image_id, parse_json(body))
        return no_content()

    def _ep_os_versions(self, request: Request, body: bytes, caller: Caller) -> Response:
        return json_response(osversions.list_response(request.args.get("tag")))

    def _ep_quota(self, request: Request, body: bytes, caller: Caller) -> Response:
        return json_response(self.backend.show_image_quota(caller))

    def _ep_copy_in_region(self, request: Request, body: bytes, caller: Caller, image_id: str) -> Response:
        require_json(request)
        job_id = self.backend.copy_image_in_region(
            caller, image_id, parse_json(body), self._job_fault_source(request)
        )
        return json_response({"job_id": job_id})

    def _ep_copy_cross_region(self, request: Request, body: bytes, caller: Caller, image_id: str) -> Response:
        require_json(request)
        job_id = self.backend.copy_image_cross_region(
            caller, image_id, parse_json(body), self._job_fault_source(request)
        )
        return json_response({"job_id": job_id})

    def _ep_add_members(self, request: Request, body: bytes, caller: Caller) -> Response:
        require_json(request)
        job_id = self.backend.batch_add_members(caller, parse_json(body), self._job_fault_source(request))
        return json_response({"job_id": job_id})

    def _ep_update_members(self, request: Request, body: bytes, caller: Caller) -> Response:
        require_json(request)
        job_id = self.backend.batch_update_members(caller, parse_json(body), self._job_fault_source(request))
        return json_response({"job_id": job_id})

    def _ep_delete_members(self, request: Request, body: bytes, caller: Caller) -> Response:
        require_json(request)
        job_id = self.backend.batch_delete_members(caller, parse_json(body), self._job_fault_source(request))
        return json_response({"job_id": job_id})

    def _ep_list_members(self, request: Request, body: bytes, caller: Caller, image_id: str) -> Response:
        return json_response(self.backend.list_image_members(caller, image_id, dict(request.args.items())))

    def _ep_show_member(
        self, request: Request, body: bytes, caller: Caller, image_id: str, member_id: str
    ) -> Response:
        return json_response(self.backend.show_image_member(caller, image_id, member_id))

    def _ep_glance_list_members(
        self, request: Request, body: bytes, caller: Caller, image_id: str
    ) -> Response:
        return json_response(self.backend.glance_list_image_members(caller, image_id))

    def _ep_projects(self, request: Request, body: bytes, caller: Caller) -> Response:
        return json_response(self.backend.keystone_list_projects(caller, request.args.get("name")))
