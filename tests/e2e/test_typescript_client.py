"""The TypeScript client's example, compiled with tsc and run by Node against `studio-ledger serve`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(400)]
CLIENT = Path(__file__).parents[2] / "clients" / "typescript"
RUN = """
const { makePoster } = await import(process.env.EXAMPLE);
try {
  const generation = await makePoster(process.env.BASE, process.env.TOKEN, "Data Science Bootcamp");
  console.log("RESULT " + JSON.stringify(generation));
} catch (error) {
  console.log("ERROR " + error.message);
}
"""


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The client and its example compiled to JavaScript modules next to the pinned packages."""
    if shutil.which("node") is None:
        pytest.skip("node not found: the TypeScript client runs only where Node 20+ is installed")
    if not (CLIENT / "node_modules" / ".bin" / "tsc").exists():
        pytest.skip("clients/typescript/node_modules is missing: `make typescript` installs the pinned packages")
    built = CLIENT / "build" / "example.js"
    sources = [*CLIENT.glob("src/*.ts"), CLIENT / "tsconfig.json"]
    if built.exists() and all(built.stat().st_mtime >= s.stat().st_mtime for s in sources):
        return built  # `make typescript` has just compiled it
    out = tmp_path_factory.mktemp("client-js")
    subprocess.run([str(CLIENT / "node_modules" / ".bin" / "tsc"), "-p", str(CLIENT), "--outDir", str(out)],
                   check=True, capture_output=True, timeout=300)
    (out / "package.json").write_text(json.dumps({"type": "module"}))
    (out / "node_modules").symlink_to(CLIENT / "node_modules")
    return out / "example.js"


def run_example(script: Path, base: str, token: str) -> str:
    """The example's last line: RESULT <generation> or ERROR <message>."""
    env = {**os.environ, "EXAMPLE": script.as_uri(), "BASE": base, "TOKEN": token}
    done = subprocess.run(["node", "--input-type=module", "-e", RUN], env=env, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


def test_the_typed_example_makes_a_poster_and_reads_it_back_from_the_gallery(
        example: Path, embedded: tuple[str, dict[str, str]]) -> None:
    base, _ = embedded
    token = httpx.post(f"{base}/v1/dev/token", json={"user_id": "tsuser"}).json()["token"]
    auth = {"Authorization": f"Bearer {token}"}
    # No credits yet: the example reads the typed 402 problem.
    assert run_example(example, base, token) == "ERROR not enough credits: 5 needed, 0 available"
    bought = httpx.post(f"{base}/v1/dev/purchase", json={"pack_id": "starter"},
                        headers={**auth, "Idempotency-Key": "ts-starter"})
    assert bought.status_code == 200, bought.text
    line = run_example(example, base, token)
    assert line.startswith("RESULT "), line
    generation = json.loads(line.removeprefix("RESULT "))
    assert generation["status"] == "completed" and generation["image_url"]
    assert generation["template_id"] == "poster-course-launch"
    assert generation["variables"]["course"] == "Data Science Bootcamp"
    gallery = httpx.get(f"{base}/v1/gallery", headers=auth).json()["items"]
    assert [g["generation_id"] for g in gallery] == [generation["generation_id"]]
