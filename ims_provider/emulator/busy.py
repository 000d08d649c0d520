"""IMS runs one image job per ECS at a time: the refusals a create meets while another job reads the VM.

IMS's error table (HW-EN ims_03_0908, OTC `error_codes`) has `IMG.0010` "The ECS cannot be used to create an
image because it has in-progress tasks" and `IMG.0139` (other disks on the VM are being used to create
images); Huawei's Packer plugin images an ECS's disks one after another for this reason. A job holds its VM
until it ends (SUCCESS or FAIL on the job clock; a hung job never ends), so nothing has to release it.
"""

from __future__ import annotations

from collections.abc import Iterable

from ims_provider.emulator.errors import bad_request
from ims_provider.emulator.jobs import Job


def check_vm_free(vm_id: str | None, jobs: Iterable[Job], now: float) -> None:
    """Refuse a create on the disks of `vm_id` while a job of that VM runs.

    IMG.0010 when the running job images the ECS itself (instance_id), IMG.0139 when it images some of the
    VM's disks (data images only, or a system image from an attached data volume). The two rules together
    leave at most one running job per VM, whichever disk the new request names.
    """
    if vm_id is None:
        return
    for job in jobs:
        if job.vm_id != vm_id or not job.running(now):
            continue
        if job.whole_ecs:
            raise bad_request(
                "IMG.0010",
                f"The ECS {vm_id} cannot be used to create an image because it has in-progress tasks.",
            )
        raise bad_request("IMG.0139", f"Other disks on the ECS {vm_id} are being used to create images.")
