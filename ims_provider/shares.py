"""ImageShare's and ImageShareAccepter's operations: members of an image, added, accepted, removed.

Each member change is an asynchronous job, waited for like an image job. Member changes are idempotent
(adding a member twice, accepting twice), so an interrupted create is recovered by looking first: a member
already there, or a share already accepted, sends no job.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ims_provider.client import IMAGE_GONE_CODES, NO_ROUTE_CODES, ImsClient
from ims_provider.errors import (
    ImsApiError,
    ImsProviderError,
    JobFailedError,
    JobNotFoundError,
    WaitTimeoutError,
)
from ims_provider.jobs import JOB_DONE
from ims_provider.model.image_share import IMAGE_SHARE, IMAGE_SHARE_ACCEPTER, share_timeouts
from ims_provider.model.live import LiveImage
from ims_provider.model.schema import ResourceSchema
from ims_provider.operations import DEFAULT_OPTIONS, ImageOperations, ImageRecord, RunOptions
from ims_provider.progress import ProgressReporter
from ims_provider.regions import RegionalClients
from ims_provider.waiter import Outcome

__all__ = ["AccepterLifecycle", "ShareLifecycle"]

_NOT_SHARED_CODES = frozenset({"IMG.0027", "IMG.0114"})  # answering for an image, or membership, not there


_MEMBER_RERUN_HINT = (
    "IMS may still run the job and change the members. Run the same command again: a member already there, "
    "a member already gone, or a share already answered is not sent again (or raise `timeouts` if IMS needs "
    "longer)."
)


class _NotSharedError(ImsProviderError):
    """The member answered for an image that is not shared with it (any more)."""


class _SourceGoneError(ImsProviderError):
    """The image a share's state records was deleted (or hidden) since: its members cannot change."""

    def __init__(self, image_id: str, region: str) -> None:
        super().__init__(
            f"source_image_id: the source image {image_id} does not exist in {region} any more (deleted "
            "outside Pulumi, or this project can no longer see it), so its members cannot be changed: run "
            "`pulumi refresh` to drop this share from the state, or give a source_image_id that exists (a "
            "replacement)"
        )


def _image_gone(client: ImsClient, image_id: str, exc: ImsApiError) -> bool:
    """Only IMS's word that the image is gone counts: one of its "no such image" codes, or a 404 (not the
    gateway's, for an API it does not route) while the image list no longer shows the image. Taken for gone
    on less, a share would leave the state (refresh) or keep its members (destroy) over a proxy's 404."""
    if exc.code in IMAGE_GONE_CODES:
        return True
    if exc.status != 404 or exc.code in NO_ROUTE_CODES:
        return False
    raw = client.get_image(image_id)
    return raw is None or LiveImage(raw).gone


class _MemberJobs(ImageOperations):
    """Submits a member job and waits for it; a job that ends FAIL, or a member it could not change, is an
    error naming the job, the code and each failed member."""

    def run(self, submit: Callable[[], str], deadline: float, reporter: ProgressReporter) -> str:
        job_id = submit()
        reporter.note(f"submitted IMS job {job_id}")
        try:
            job = self.wait_job(job_id, deadline, reporter)
        except WaitTimeoutError as exc:  # the image-create advice (adopting an image) does not fit here
            polls = str(exc.__cause__ or "").partition(f"waiting for IMS job {job_id}. ")[2]
            hint = _MEMBER_RERUN_HINT + (f" ({polls})" if polls else "")
            raise WaitTimeoutError(f"IMS member job {job_id}", exc.elapsed, exc.last, hint=hint) from None
        except JobNotFoundError as exc:
            raise JobNotFoundError(job_id, exc.waited, request="member", advice=_MEMBER_RERUN_HINT) from None
        entities = job.get("entities") if isinstance(job.get("entities"), Mapping) else {}
        results = entities.get("results") if isinstance(entities, Mapping) else None
        failed = [
            r
            for r in results or []
            if isinstance(r, Mapping) and str(r.get("status") or "success").lower() != "success"
        ]
        if JOB_DONE.classify(job) is Outcome.FAILURE or failed:
            subs = [
                {
                    "job_id": f"{r.get('image_id')}/{r.get('project_id')}",
                    "error_code": r.get("status"),
                    "fail_reason": r.get("fail_reason") or r.get("reason"),
                }
                for r in failed
            ]
            raise JobFailedError(job_id, job.get("error_code"), job.get("fail_reason"), subs)
        return job_id


def _members(client: ImsClient, image_id: str) -> dict[str, str] | None:
    """The image's members and their status, or None when the image is gone."""
    try:
        listed = client.list_members(image_id)
    except ImsApiError as exc:
        if _image_gone(client, image_id, exc):
            return None
        raise
    return {str(m.get("member_id")): str(m.get("status") or "") for m in listed if m.get("member_id")}


class _Regional:
    """The client and member jobs of the region an image is in (the ``region`` input, or the provider's)."""

    def __init__(self, clients: RegionalClients, options: RunOptions = DEFAULT_OPTIONS) -> None:
        self.clients = clients
        self.options = options
        self.clock = options.clock
        self.write = options.write

    schema: ResourceSchema

    def region_of(self, props: Mapping[str, Any]) -> str:
        return self.schema.lives_in(props, self.clients.region)

    def client(self, region: str) -> ImsClient:
        return self.clients(region)

    def jobs(self, region: str) -> _MemberJobs:
        return _MemberJobs(self.clients(region), self.options)


class ShareLifecycle(_Regional):
    """ImageShare: the program's target projects are members of the source image, in its region."""

    schema = IMAGE_SHARE

    def create(self, props: Mapping[str, Any]) -> ImageRecord:
        inputs = IMAGE_SHARE.set_inputs(props)
        region = self.region_of(inputs)
        client, jobs = self.client(region), self.jobs(region)
        image_id = str(inputs["source_image_id"])
        targets = [str(p) for p in inputs["target_project_ids"]]
        deadline = self.clock.monotonic() + share_timeouts(inputs)["create"]
        reporter = jobs._reporter(f"share of {image_id}")
        current = _members(client, image_id)
        if current is None:
            raise ImsProviderError(
                f"source_image_id: image {image_id} does not exist in {region} "
                "(or this project cannot see it)"
            )
        missing = [p for p in targets if p not in current]
        if missing:
            jobs.run(lambda: client.add_members([image_id], missing), deadline, reporter)
        found = [p for p in targets if p in current]
        if found:  # not sent again; said, since this resource now removes them on delete
            self._taken_over(image_id, found)
        others = [p for p in current if p not in targets]
        if others:
            self.write(
                f"ims: share of {image_id}: warning: image {image_id} is also shared with "
                f"{', '.join(others)}, not in target_project_ids: left alone. Such a member may belong to "
                "another ImageShare, to someone sharing the image outside Pulumi, or to an interrupted "
                "earlier run of this resource (IMS does not say who added it); for this resource to manage "
                "them, add them to target_project_ids"
            )
        reporter.finish(f"image {image_id} shared with {len(targets)} project(s)")
        record = self._record(image_id, inputs, region)
        if record is None:
            raise ImsProviderError(f"image {image_id} disappeared while it was being shared")
        return record

    def _taken_over(self, image_id: str, found: list[str]) -> None:
        """Say that members found in place are now this resource's (IMS keeps no owner of a member)."""
        self.write(
            f"ims: share of {image_id}: warning: image {image_id} is shared with {', '.join(found)} already "
            "(by an interrupted earlier run of this resource, by another ImageShare, or outside Pulumi; IMS "
            "does not say who): this resource now manages those members, and removes them when it is deleted "
            "or they leave target_project_ids; if another resource still lists them, its delete removes them "
            "from under this one (rename with `aliases`, move stacks with `pulumi state delete`)"
        )

    def _record(self, image_id: str, applied: Mapping[str, Any], region: str) -> ImageRecord | None:
        """Outputs: the program's projects with IMS's member status; one no longer a member drops out of the
        applied inputs, which is drift the next preview shows."""
        current = _members(self.client(region), image_id)
        if current is None:
            return None
        targets = [str(p) for p in applied.get("target_project_ids") or []]
        present = [p for p in targets if p in current]
        members = [{"project_id": p, "status": current[p]} for p in present]
        refreshed = {**applied, "target_project_ids": present}
        computed = {"members": members, "region": region}
        return ImageRecord(image_id, IMAGE_SHARE.state(refreshed, LiveImage({}), computed))

    def read(self, image_id: str, props: Mapping[str, Any]) -> ImageRecord | None:
        return self._record(image_id, IMAGE_SHARE.applied_inputs(props), self.region_of(props))

    def update(self, image_id: str, olds: Mapping[str, Any], news: Mapping[str, Any]) -> dict[str, Any]:
        """Members removed and added in place: the ones the program dropped are removed, then the new
        projects added; members this resource did not add are left alone."""
        old = IMAGE_SHARE.applied_inputs(olds)
        new = IMAGE_SHARE.set_inputs(news)
        region = self.region_of(olds)
        client, jobs = self.client(region), self.jobs(region)
        deadline = self.clock.monotonic() + share_timeouts(new)["update"]
        reporter = jobs._reporter(f"share of {image_id}")
        current = _members(client, image_id)
        if current is None:
            raise _SourceGoneError(image_id, region)
        wanted = [str(p) for p in new.get("target_project_ids") or []]
        dropped = [str(p) for p in old.get("target_project_ids") or [] if p not in wanted and p in current]
        added = [p for p in wanted if p not in current]
        before = [str(p) for p in old.get("target_project_ids") or []]
        found = [p for p in wanted if p in current and p not in before]
        if found:
            self._taken_over(image_id, found)
        try:  # removed first: IMS limits an image's members (MAX_MEMBERS), so a swap at the limit must fit
            if dropped:
                jobs.run(lambda: client.delete_members([image_id], dropped), deadline, reporter)
            if added:
                jobs.run(lambda: client.add_members([image_id], added), deadline, reporter)
        except ImsApiError as exc:
            if _image_gone(client, image_id, exc):  # deleted while the members were being changed
                raise _SourceGoneError(image_id, region) from exc
            raise
        record = self._record(image_id, new, region)
        if record is None:
            raise _SourceGoneError(image_id, region)
        return record.outputs

    def delete(self, image_id: str, props: Mapping[str, Any]) -> None:
        """The projects the program shared with stop being members (the image stays)."""
        applied = IMAGE_SHARE.applied_inputs(props)
        region = self.region_of(props)
        client = self.client(region)
        current = _members(client, image_id)
        if current is None:
            return  # the image is gone, and its members with it
        targets = [str(p) for p in applied.get("target_project_ids") or [] if p in current]
        if targets:
            jobs = self.jobs(region)
            deadline = self.clock.monotonic() + share_timeouts(applied)["delete"]
            reporter = jobs._reporter(f"share of {image_id}")
            jobs.run(lambda: client.delete_members([image_id], targets), deadline, reporter)


class AccepterLifecycle(_Regional):
    """ImageShareAccepter: the provider's project, a member of someone else's image, accepts it (and rejects
    it again on delete, so the image leaves the project's list, as Terraform does)."""

    schema = IMAGE_SHARE_ACCEPTER

    def _shared(self, client: ImsClient, image_id: str, status: str) -> LiveImage | None:
        """The image as this project sees it, when its membership has ``status``."""
        found = client.list_images(id=image_id, visibility="shared", member_status=status)
        return next((LiveImage(i) for i in found if i.get("id") == image_id), None)

    def _state(self, image_id: str, applied: Mapping[str, Any], region: str) -> ImageRecord | None:
        image = self._shared(self.client(region), image_id, "accepted")
        if image is None:
            return None
        return ImageRecord(image_id, IMAGE_SHARE_ACCEPTER.state(applied, image, {"region": region}))

    def create(self, props: Mapping[str, Any]) -> ImageRecord:
        inputs = IMAGE_SHARE_ACCEPTER.set_inputs(props)
        image_id = str(inputs["image_id"])
        region = self.region_of(inputs)
        client, jobs = self.client(region), self.jobs(region)
        deadline = self.clock.monotonic() + share_timeouts(inputs)["create"]
        label = f"shared image {image_id}"
        reporter = jobs._reporter(label)
        vault = inputs.get("vault_id")
        if self._shared(client, image_id, "accepted") is None:
            jobs.run(
                lambda: self._answer(client, image_id, region, "accepted", str(vault) if vault else None),
                deadline,
                reporter,
            )
        else:  # accepted by an interrupted run, another ImageShareAccepter or outside Pulumi: IMS can't say
            unchecked = (
                f"; the vault_id given ({vault}) was not sent and cannot be checked, as IMS does not report "
                "the vault of an acceptance"
                if vault
                else ""
            )
            self.write(
                f"ims: {label}: warning: image {image_id} was accepted already (by an interrupted earlier "
                "run, by another ImageShareAccepter, or outside Pulumi), so nothing was sent: this resource "
                f"now answers for the acceptance, and rejects the image when it is deleted; if another "
                "resource still holds it, its delete rejects it from under this one (rename with `aliases`, "
                f"move stacks with `pulumi state delete`){unchecked}"
            )
        record = self._state(image_id, inputs, region)
        if record is None:
            raise ImsProviderError(
                f"image {image_id} was accepted, but this project does not list it as an accepted shared "
                f"image in {region}"
            )
        reporter.finish(f"accepted image {image_id}")
        return record

    @staticmethod
    def _answer(client: ImsClient, image_id: str, region: str, status: str, vault: str | None = None) -> str:
        """Submit the member's answer; IMS's "no such image" or "no such member" means the image is not shared
        with this project, which is said in those words (IMS's own would suggest the image does not exist)."""
        project = client.project_id
        try:
            return client.update_member([image_id], project, status, vault)
        except ImsApiError as exc:
            if exc.status != 404 or exc.code not in _NOT_SHARED_CODES:
                raise
            raise _NotSharedError(
                f"image_id: image {image_id} is not shared with this project ({project}) in {region}, so it "
                f"cannot be {status}: its owner must add this project as a member first ({exc})"
            ) from exc

    def read(self, image_id: str, props: Mapping[str, Any]) -> ImageRecord | None:
        """Gone when the image is no longer shared with this project, or no longer accepted."""
        return self._state(image_id, IMAGE_SHARE_ACCEPTER.applied_inputs(props), self.region_of(props))

    def update(self, image_id: str, olds: Mapping[str, Any], news: Mapping[str, Any]) -> dict[str, Any]:
        """Only ``timeouts`` can change in place: nothing to send."""
        record = self._state(image_id, IMAGE_SHARE_ACCEPTER.set_inputs(news), self.region_of(olds))
        if record is None:
            raise ImsProviderError(f"image {image_id} is no longer shared with this project")
        return record.outputs

    def delete(self, image_id: str, props: Mapping[str, Any]) -> None:
        """Reject the share (the owner's membership stays; the image leaves this project's list)."""
        applied = IMAGE_SHARE_ACCEPTER.applied_inputs(props)
        region = self.region_of(props)
        client = self.client(region)
        if self._shared(client, image_id, "accepted") is None:
            return  # not shared (any more) or not accepted: nothing to undo
        jobs = self.jobs(region)
        deadline = self.clock.monotonic() + share_timeouts(applied)["delete"]
        reporter = jobs._reporter(f"shared image {image_id}")
        try:
            jobs.run(lambda: self._answer(client, image_id, region, "rejected"), deadline, reporter)
        except _NotSharedError:
            return  # the owner removed the membership meanwhile: the image has left this project's list
