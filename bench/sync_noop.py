"""How long a `sync` that finds nothing to do takes: the whole command, wall clock.

A real Vendure (tests/vendure_server) serves a channel of ``--products`` grocery
products with real photos; one sync trains and publishes (not measured), then
``--runs`` no-op syncs are timed as separate processes, interleaved with
``dukahub-trainer --version`` (Python + the CLI's start-up) as the reference.
Target (issue 9): a no-op sync of a 50-product channel in ≤ 3 s.

    python bench/sync_noop.py --products 50 --runs 5
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))  # vendure_server
WEIGHTS = (
    REPO.parent
    / "shared"
    / "pretrained"
    / "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_224_no_top.h5"
)


def run(argv: list[str], env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess]:
    t0 = time.perf_counter()
    res = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    return time.perf_counter() - t0, res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--products", type=int, default=50)
    ap.add_argument("--photos", type=int, default=2, help="photos per product")
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args(argv)

    from vendure_server import fixtures as vf

    vf.build_server()
    work = Path(tempfile.mkdtemp(prefix="bench-sync-"))
    (work / "server").mkdir()
    proc, server = vf.start_server(work / "server")
    try:
        vf.seed(server)
        vf.seed_grocery_channel(server, "bench", args.products, args.photos)
        env = dict(
            os.environ,
            DUKAHUB_TRAINER_HOME=str(work / "home"),
            DUKAHUB_TRAINER_PASSWORD=server.admin_password,
        )
        sync = [sys.executable, "-m", "app", "sync", "--server", server.url, "--channel",
                "bench", "--username", server.admin_user]  # fmt: skip
        secs, first = run([*sync, "--base-weights", str(WEIGHTS)], env)
        if first.returncode != 0 or "published" not in first.stdout:
            print(first.stdout, first.stderr, file=sys.stderr)
            return 1
        print(f"first sync (downloads, trains, publishes): {secs:.1f} s")
        noop, ref = [], []
        for _ in range(args.runs):
            secs, res = run(sync, env)
            if res.returncode != 0 or "up to date" not in res.stdout:
                print(res.stdout, res.stderr, file=sys.stderr)
                return 1
            noop.append(secs)
            secs, _res = run([sys.executable, "-m", "app", "--version"], env)
            ref.append(secs)
        m, r = statistics.median(noop), statistics.median(ref)
        print(
            f"no-op sync, {args.products} products × {args.photos} photos, median of "
            f"{args.runs}: {m:.2f} s (min {min(noop):.2f}, max {max(noop):.2f}); "
            f"`dukahub-trainer --version` {r:.2f} s; ratio {m / r:.2f}×"
        )
        return 0
    finally:
        vf.stop_server(proc)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
