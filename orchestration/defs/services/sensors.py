"""A sensor on the landing directory: a run when files appear, not on a timer."""

import hashlib

import dagster as dg
import fsspec

from orchestration.defs.services.assets import services_raw
from orchestration.resources import ServicesLandingResource


def landing_fingerprint(landing_dir: str) -> tuple[str, int]:
    """A digest of every complete file's path and size, and how many there are.

    Files are immutable once they appear, so a new digest means new files; ``.part`` files
    are still being written and do not count.
    """
    fs, root = fsspec.core.url_to_fs(landing_dir)
    if not fs.exists(root):
        return "", 0
    listing = sorted(
        (path, info.get("size") or 0)
        for path, info in fs.find(root, detail=True).items()
        if not path.endswith(".part")
    )
    digest = hashlib.sha256(repr(listing).encode()).hexdigest()
    return digest, len(listing)


@dg.sensor(
    name="services_landing_sensor",
    target=[services_raw],
    minimum_interval_seconds=300,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Loads the service landing directory when files appear in it.",
)
def services_landing_sensor(
    context: dg.SensorEvaluationContext, services_landing: ServicesLandingResource
) -> dg.SensorResult | dg.SkipReason:
    digest, count = landing_fingerprint(services_landing.landing_dir)
    if not count:
        return dg.SkipReason("the landing directory is empty or missing")
    if digest == context.cursor:
        return dg.SkipReason(f"no new files ({count} files seen before)")
    return dg.SensorResult(
        run_requests=[dg.RunRequest(run_key=digest, tags={"landing_files": str(count)})],
        cursor=digest,
    )
