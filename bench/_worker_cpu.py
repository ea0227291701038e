"""The worker's whole CPU per generation, beside the compositor's alone, for ``bench/render.py --worker``.

Each generation goes through ``GenerationHandler.handle`` as in ``studio-ledger worker``: the local store in a
scratch folder, content credentials signed with a self-signed certificate, and either the local model or a
remote one. The remote model is the benchmark's Cog answer held in memory (a photo-like PNG at the model's
size, 1.7 bytes a pixel, in a JSON body as Cog sends it): its ``generate`` parses the body and decodes the
data URI as ``CogModel`` does, so the CPU counted is the worker's own and no server shares the process.
Every figure is this process's CPU time (``time.process_time``: every thread, the store's included).
"""

from __future__ import annotations

import base64
import io
import json
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
from PIL import Image

from media import samples
from media.compositor import compose
from media.handler import GenerationHandler, RetryPolicy
from media.image_stores.local import LocalStore
from media.messages import GenerationCompletedMessage, GenerationRequestedMessage
from media.models.cog import decode_output
from media.models.local import LocalModel
from media.ports import MODEL_SIZES, SIZES, ImageRequest, ImageResult
from media.templates import Template, load_catalog
from service.bootstrap import build_credentials
from service.settings.media import MediaSettings

LOCAL_TARGET, REMOTE_TARGET = 0.130, 0.100


class RecordedCog:
    """A remote model whose answer is already here: the worker's share of a Cog prediction (parse, decode)."""

    def __init__(self) -> None:
        self.bodies: dict[tuple[int, int], bytes] = {}

    def body(self, width: int, height: int) -> bytes:
        """Cog's JSON answer with a noisy gradient of the size asked (compresses like a photo, not flat art)."""
        if (width, height) not in self.bodies:
            noise = Image.effect_noise((width, height), 48).convert("RGB")
            gradient = Image.linear_gradient("L").resize((width, height)).convert("RGB")
            out = io.BytesIO()
            Image.blend(noise, gradient, 0.5).save(out, format="PNG")
            uri = "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()
            self.bodies[(width, height)] = json.dumps({"status": "succeeded", "output": uri}).encode()
        return self.bodies[(width, height)]

    async def generate(self, request: ImageRequest) -> ImageResult:
        """The prediction's image, decoded from its JSON body as ``CogModel`` decodes it."""
        body = json.loads(self.body(*request.model_size))
        return ImageResult(data=decode_output(body["output"]), content_type="image/png", provider="cog",
                           model="bench", seed=request.seed)

    async def aclose(self) -> None:
        """Nothing to release."""


class SamplePhotos:
    """The learner's photo for photo templates: the sample portrait, read once (reading is no worker CPU)."""

    def __init__(self) -> None:
        self.photo = samples.SAMPLE_PHOTO.read_bytes()

    async def read(self, user_id: str, reference: str) -> bytes:
        """The sample portrait's bytes."""
        return self.photo


def message(template: Template, values: dict[str, Any]) -> GenerationRequestedMessage:
    """A ``GenerationRequested`` envelope for ``template`` as the relay publishes it (a fresh generation id)."""
    now = datetime.now(UTC)
    return GenerationRequestedMessage.model_validate({
        "event_id": str(uuid.uuid4()), "type": "GenerationRequested", "version": 1, "occurred_at": now.isoformat(),
        "position": 1, "aggregate_id": str(uuid.uuid4()), "aggregate_version": 1,
        "payload": {"user_id": "bench", "wallet_id": str(uuid.uuid4()), "template_id": template.id,
                    "template_version": template.version, "variables": values,
                    "input_image": "upload:bench" if template.needs_input_image else None, "cost": 1,
                    "hold_id": "h", "expires_at": (now + timedelta(minutes=15)).isoformat(), "digest": "x"},
    })


def handler_cpu(handler: GenerationHandler, template: Template, rounds: int) -> list[float]:
    """CPU seconds of each of ``rounds`` generations (after two warm-ups), English and Hindi alternating."""
    style = samples.styles(template)[0]
    spent = []
    for i in range(rounds + 2):
        values = samples.variables(template, style, ("en", "hi")[i % 2])
        ask = message(template, values)
        cpu = time.process_time()
        result = anyio.run(handler.handle, ask)
        if not isinstance(result, GenerationCompletedMessage):
            raise SystemExit(f"{template.id}: the generation failed: {result}")
        if i >= 2:
            spent.append(time.process_time() - cpu)
    return spent


def compositor_cpu(template: Template, art: bytes, rounds: int) -> list[float]:
    """CPU seconds of the compositor alone (text fitted and set on art already decoded), per image."""
    style = samples.styles(template)[0]
    with Image.open(io.BytesIO(art)) as opened:
        picture = opened.convert("RGB")
    spent = []
    for i in range(rounds + 2):
        values = samples.variables(template, style, ("en", "hi")[i % 2])
        cpu = time.process_time()
        compose(picture, template, values)
        if i >= 2:
            spent.append(time.process_time() - cpu)
    return spent


def local_art(template: Template) -> bytes:
    """The local model's art for the template's first style, as PNG."""
    from media.models.local import draw

    values = samples.variables(template, samples.styles(template)[0], "en")
    photo = samples.SAMPLE_PHOTO.read_bytes() if template.needs_input_image else None
    return draw(samples.request(template, values, uuid.uuid4(), "/media/me.jpg" if photo else None), 1.0, photo)


def worker_table(rounds: int, only: list[str] | None) -> None:
    """Print, per template, the worker's CPU per generation (local and remote model) and the compositor's."""
    folder = Path(tempfile.mkdtemp(prefix="bench-worker-"))
    credentials = build_credentials(MediaSettings(data_dir=folder))
    store, cog = LocalStore(folder), RecordedCog()
    catalog = load_catalog()
    local = GenerationHandler(catalog, LocalModel(), store, RetryPolicy(attempts=1), inputs=SamplePhotos(),  # type: ignore[arg-type]
                              credentials=credentials)
    remote = GenerationHandler(catalog, cog, store, RetryPolicy(attempts=1), inputs=SamplePhotos(),  # type: ignore[arg-type]
                               credentials=credentials)
    print("CPU ms of this process per generation, median (p90): the whole worker, then the compositor alone")
    print(f"{'template':22} {'size':>9}  {'worker, local':>15}  {'worker, remote':>15}  "
          f"{'compositor (local art)':>22}  {'compositor (remote art)':>23}")
    verdicts: list[str] = []
    for template in catalog.all():
        if only and template.id not in only:
            continue
        width, height = SIZES[template.aspect_ratio]
        with_local, with_remote = handler_cpu(local, template, rounds), handler_cpu(remote, template, rounds)
        remote_art = decode_output(json.loads(cog.body(*MODEL_SIZES[template.aspect_ratio]))["output"])
        alone_local = compositor_cpu(template, local_art(template), rounds)
        alone_remote = compositor_cpu(template, remote_art, rounds)
        print(f"{template.id:22} {width:>4}x{height:<4}  {figure(with_local):>15}  {figure(with_remote):>15}  "
              f"{figure(alone_local):>22}  {figure(alone_remote):>23}", flush=True)
        for spent, target, kind in ((with_local, LOCAL_TARGET, "local"), (with_remote, REMOTE_TARGET, "remote")):
            if statistics.median(spent) > target:
                verdicts.append(f"{template.id} with the {kind} model: {statistics.median(spent) * 1000:.0f} ms "
                                f"over {target * 1000:.0f} ms")
    print("\n".join(verdicts) or "every template met both worker targets (local <= 130 ms, remote <= 100 ms)")


def figure(values: list[float]) -> str:
    """Median and p90 in milliseconds."""
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
    return f"{statistics.median(values) * 1000:.0f} ({p90 * 1000:.0f})"
