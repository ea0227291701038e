"""Rendering cost per template at its native size: the local model's art, the compositor, and both with the JPEG.

For every template (its first style, English and Hindi text alternating), ``--rounds`` renders, each timed
in three parts: the local model (art drawn and encoded as PNG), the compositor (art decoded, text fitted and
set), and the finished image encoded as the worker stores it (JPEG); plus the process CPU time per image.
A baseline measured in the same run (PNG-encoding a flat 1080x1350 image) turns each figure into a ratio,
which holds on a busy machine.

    .venv/bin/python bench/render.py --rounds 30

Targets: compositor p99 <= 150 ms at 1080x1350; local model + compositor p99 <= 600 ms.

``--worker`` measures instead the worker's whole CPU per generation, as ``studio-ledger worker`` spends it
(the handler with the local store and the content credentials: the art or the remote model's answer decoded,
the compositor, every encoding, the signature, the thumbnail, the files written; not the share preview, which
the API makes when a shared image's preview is first asked for), once with the local model and once with a
remote one, beside the compositor's CPU alone on the same art:

    .venv/bin/python bench/render.py --worker --rounds 10

Targets: worker CPU per native-size generation <= 130 ms with the local model, <= 100 ms with a remote one.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PIL import Image

from bench._worker_cpu import worker_table
from media import samples
from media.compositor import compose
from media.models.local import draw
from media.ports import SIZES
from media.templates import Template, load_catalog

COMPOSE_TARGET = 0.150
TOTAL_TARGET = 0.600


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def ms(values: list[float]) -> str:
    return f"{percentile(values, 0.5) * 1000:5.0f}/{percentile(values, 0.99) * 1000:<5.0f}"


def verdict(value: float, target: float) -> str:
    return "met" if value <= target else "missed"


def baseline(rounds: int) -> float:
    """Median seconds to PNG-encode a flat 1080x1350 image: a fixed unit of work to compare against."""
    flat = Image.new("RGB", (1080, 1350), (40, 60, 90))
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        flat.save(io.BytesIO(), format="PNG", compress_level=1)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(template: Template, rounds: int) -> dict[str, list[float]]:
    photo = samples.SAMPLE_PHOTO.read_bytes() if template.needs_input_image else None
    style = samples.styles(template)[0]
    found: dict[str, list[float]] = {"model": [], "compose": [], "jpeg": [], "total": [], "cpu": [],
                                     "model_cpu": [], "compose_cpu": []}
    for i in range(rounds + 2):
        language = ("en", "hi")[i % 2]
        values = samples.variables(template, style, language)
        request = samples.request(template, values, uuid.uuid4(), "/media/me.jpg" if photo else None)
        cpu, start = time.process_time(), time.perf_counter()
        art = draw(request, 1.0, photo)
        drawn, drawn_cpu = time.perf_counter(), time.process_time()
        with Image.open(io.BytesIO(art)) as image:
            composed = compose(image, template, values)
        set_, set_cpu = time.perf_counter(), time.process_time()
        composed.jpeg()
        done = time.perf_counter()
        if i < 2:  # warm-up: fonts loaded, caches filled
            continue
        found["model"].append(drawn - start)
        found["compose"].append(set_ - drawn)
        found["jpeg"].append(done - set_)
        found["total"].append(done - start)
        found["cpu"].append(time.process_time() - cpu)
        found["model_cpu"].append(drawn_cpu - cpu)
        found["compose_cpu"].append(set_cpu - drawn_cpu)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--template", action="append", help="only these template ids (repeatable)")
    parser.add_argument("--worker", action="store_true",
                        help="the worker's whole CPU per generation (local and remote model) beside the compositor's")
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if args.worker:
        worker_table(args.rounds, args.template)
        return
    unit = baseline(max(10, args.rounds))
    print(f"baseline: PNG of a flat 1080x1350 image, median {unit * 1000:.1f} ms")
    print("wall-clock p50/p99 in ms (waiting for a core included), then CPU ms of this process (the work itself)")
    print(f"{'template':22} {'size':>9}  {'model':>11}  {'compose':>11}  {'jpeg':>4}  {'model+compose':>13}  "
          f"{'cpu model':>11}  {'cpu compose':>11}  {'cpu/img':>7}  {'compose p99/baseline':>20}")
    verdicts = []
    for template in load_catalog().all():
        if args.template and template.id not in args.template:
            continue
        found = measure(template, args.rounds)
        width, height = SIZES[template.aspect_ratio]
        both = [m + c for m, c in zip(found["model"], found["compose"], strict=True)]
        compose_p99, both_p99 = percentile(found["compose"], 0.99), percentile(both, 0.99)
        cpu_both = [m + c for m, c in zip(found["model_cpu"], found["compose_cpu"], strict=True)]
        print(f"{template.id:22} {width:>4}x{height:<4}  {ms(found['model'])}  {ms(found['compose'])}  "
              f"{statistics.median(found['jpeg']) * 1000:4.0f}  {both_p99 * 1000:13.0f}  {ms(found['model_cpu'])}  "
              f"{ms(found['compose_cpu'])}  {statistics.mean(found['cpu']) * 1000:7.0f}  "
              f"{compose_p99 / unit:19.1f}x", flush=True)
        cpu_compose_p99, cpu_both_p99 = percentile(found["compose_cpu"], 0.99), percentile(cpu_both, 0.99)
        if (width, height) == (1080, 1350):
            verdicts.append(f"compositor p99 at 1080x1350 ({template.id}): wall {compose_p99 * 1000:.0f} ms "
                            f"({verdict(compose_p99, COMPOSE_TARGET)}), CPU {cpu_compose_p99 * 1000:.0f} ms "
                            f"({verdict(cpu_compose_p99, COMPOSE_TARGET)}); target {COMPOSE_TARGET * 1000:.0f} ms")
        if max(both_p99, cpu_both_p99) > TOTAL_TARGET:
            verdicts.append(f"local model + compositor p99 for {template.id}: wall {both_p99 * 1000:.0f} ms "
                            f"({verdict(both_p99, TOTAL_TARGET)}), CPU {cpu_both_p99 * 1000:.0f} ms "
                            f"({verdict(cpu_both_p99, TOTAL_TARGET)}); target {TOTAL_TARGET * 1000:.0f} ms")
    print("\n".join(verdicts) or "every template met the local model + compositor target")


if __name__ == "__main__":
    main()
