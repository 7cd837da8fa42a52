"""How long a `sync` that finds nothing to do takes, and how much memory it needs.

A real Vendure (tests/vendure_server) serves a channel of ``--products`` products;
then ``--runs`` no-op syncs are timed as separate processes, interleaved with
``dukahub-trainer --version`` (Python + the CLI's start-up) as the reference. Each
child's peak memory is its own ``ru_maxrss`` (``os.wait4``).

Grocery channel (default, up to the dataset's 50 classes): real photos; one sync trains
and publishes first (not measured). Target (issue 9): a no-op sync of a 50-product
channel in ≤ 3 s::

    python bench/sync_noop.py --products 50 --runs 5

Large catalogues (issue 22: "a real Vendure catalogue of 5,000 products syncs with
bounded memory"; ``--bulk``, implied above 50 products): the test server writes the
products in bulk (tests/vendure_server/src/bulk.ts), each showing one of ``--photos``
small shared photos. Instead of a training, the served model is a real export of an
untrained head with every product as a label (5,000: a 27 MB weights.bin), metadata as
large as a training's and the catalogue's fingerprint (tests/large_catalogue.py),
published by the app's own publish in a child process, whose progress gaps and peak
memory are reported. Then the app's catalogue download (``fetch_catalogue``) and the
no-op syncs::

    python bench/sync_noop.py --bulk --products 50 1000 5000 --runs 3
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]  # app, vendure_server
WEIGHTS = (
    REPO.parent
    / "shared"
    / "pretrained"
    / "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_224_no_top.h5"
)
GROCERY_CLASSES = 50


# Linux carries a process's peak memory across fork and exec, so a child of this
# process (TensorFlow loaded for the export) would report at least this one's: each
# measured command is started by a small Python that reports its child's own peak.
SHIM = """
import os, subprocess, sys
proc = subprocess.Popen(sys.argv[2:])
_pid, status, usage = os.wait4(proc.pid, 0)
proc.returncode = os.waitstatus_to_exitcode(status)
with open(sys.argv[1], "w") as out:
    out.write(str(usage.ru_maxrss))
sys.exit(proc.returncode)
"""


CLI_REPO = REPO  # --cli-repo: the app whose commands are timed (another checkout: before/after)


def run(argv: list[str], env: dict[str, str]) -> tuple[float, float, subprocess.CompletedProcess]:
    """Wall seconds, peak memory in MB (the command's own ru_maxrss) and the result."""
    with tempfile.NamedTemporaryFile("r") as peak:
        t0 = time.perf_counter()
        res = subprocess.run(
            [sys.executable, "-c", SHIM, peak.name, *argv],
            cwd=CLI_REPO,  # `python -m app` imports the app of its working folder first
            env=env,
            capture_output=True,
            text=True,
            timeout=1800,
        )
        secs = time.perf_counter() - t0
        rss = int(peak.read() or 0) / 1024
    return secs, rss, res


# -- children: one measured step each, in a fresh process -----------------------------
def _client(url: str, channel: str):
    from app.core.shop import ShopClient

    client = ShopClient(url, deadline=600)
    client.login("superadmin", os.environ["DUKAHUB_TRAINER_PASSWORD"])
    client.select_channel(channel)
    return client


def child_fetch(url: str, channel: str) -> dict:
    """The app's catalogue download (listing + photos into the image cache)."""
    from app.core.shop import fetch_catalogue

    t0 = time.perf_counter()
    result = fetch_catalogue(_client(url, channel))
    return {
        "seconds": time.perf_counter() - t0,
        "products": len(result.catalogue.products),
        "downloaded": result.stats.downloaded,
    }


def child_publish(url: str, channel: str, model: str) -> dict:
    """Publish with the app's publish; the longest gap between progress reports."""
    from app.core.flows.publish import ShopTarget

    stamps: list[tuple[float, str, float, str]] = []

    def seen(p) -> None:
        stamps.append((time.perf_counter(), p.phase.value, p.fraction, p.message))

    t0 = time.perf_counter()
    done = ShopTarget(_client(url, channel)).publish(Path(model), on_progress=seen)
    end = time.perf_counter()
    times = [t0] + [s[0] for s in stamps] + [end]
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    worst = max(range(len(gaps)), key=gaps.__getitem__)
    after = stamps[worst - 1][3] if worst > 0 else "start"
    return {
        "seconds": end - t0,
        "version": done.version,
        "reports": len(stamps),
        "longest_gap_s": gaps[worst],
        "gap_after": after,
    }


CHILDREN = {"fetch": child_fetch, "publish": child_publish}


def served_model(server, code: str, home: Path, out: Path) -> Path:
    """The channel's served model without a training (tests/large_catalogue.py)."""
    os.environ["DUKAHUB_TRAINER_HOME"] = str(home)
    from large_catalogue import untrained_export

    from app.core.shop import ShopClient

    client = ShopClient(server.url, deadline=600)
    client.login(server.admin_user, server.admin_password)
    client.select_channel(code)
    return untrained_export(client, WEIGHTS, out)


def bulk(args: argparse.Namespace, vf, server, work: Path) -> int:
    rows = []
    for n in args.products:
        code = f"bench{n}"
        t0 = time.perf_counter()
        vf.seed_many_products(server, code, n, photos=args.photos)
        seeded = time.perf_counter() - t0
        home = work / f"home-{n}"
        env = dict(
            os.environ,
            DUKAHUB_TRAINER_HOME=str(home),
            DUKAHUB_TRAINER_PASSWORD=server.admin_password,
        )
        model = served_model(server, code, work / "exporter", work / f"model-{n}")
        size = (model / "weights.bin").stat().st_size / 1e6
        me = [sys.executable, __file__, "--child"]
        secs, rss, res = run([*me, "publish", server.url, code, str(model)], env)
        if res.returncode:
            print(res.stdout, res.stderr, file=sys.stderr)
            return 1
        pub = json.loads(res.stdout.splitlines()[-1])
        print(
            f"{n} products: seeded in {seeded:.0f} s; publish of {size:.1f} MB weights.bin "
            f"{pub['seconds']:.1f} s, {pub['reports']} progress reports, longest gap "
            f"{pub['longest_gap_s']:.1f} s (after “{pub['gap_after']}”), peak {rss:.0f} MB",
            flush=True,
        )
        fetch_s, fetch_rss, res = run([*me, "fetch", server.url, code], env)
        if res.returncode:
            print(res.stdout, res.stderr, file=sys.stderr)
            return 1
        sync = [sys.executable, "-m", "app", "sync", "--server", server.url, "--channel",
                code, "--username", server.admin_user]  # fmt: skip
        noop, noop_rss, ref, ref_rss = [], [], [], []
        for _ in range(args.runs):
            secs, rss, res = run(sync, env)
            if res.returncode != 0 or "up to date" not in res.stdout:
                print(res.stdout, res.stderr, file=sys.stderr)
                return 1
            noop.append(secs), noop_rss.append(rss)
            secs, rss, _res = run([sys.executable, "-m", "app", "--version"], env)
            ref.append(secs), ref_rss.append(rss)
        rows.append(
            (
                n,
                fetch_s,
                fetch_rss,
                statistics.median(noop),
                max(noop_rss),
                statistics.median(ref),
                max(ref_rss),
            )  # fmt: skip
        )
        print(
            f"{n} products: catalogue download {fetch_s:.1f} s, peak {fetch_rss:.0f} MB; "
            f"no-op sync median of {args.runs} {rows[-1][3]:.2f} s, peak {rows[-1][4]:.0f} MB "
            f"(`--version` {rows[-1][5]:.2f} s, {rows[-1][6]:.0f} MB)",
            flush=True,
        )
    print("\n| products | catalogue download | its peak | no-op sync | its peak | --version |")
    print("|---:|---:|---:|---:|---:|---:|")
    for n, fs, fr, ns, nr, rs, rr in rows:
        cells = [f"{n:,}", f"{fs:.1f} s", f"{fr:.0f} MB", f"{ns:.2f} s", f"{nr:.0f} MB"]
        print("| " + " | ".join([*cells, f"{rs:.2f} s, {rr:.0f} MB"]) + " |")
    return 0


def grocery(args: argparse.Namespace, vf, server, work: Path) -> int:
    (n,) = args.products
    vf.seed_grocery_channel(server, "bench", n, args.photos)
    env = dict(
        os.environ,
        DUKAHUB_TRAINER_HOME=str(work / "home"),
        DUKAHUB_TRAINER_PASSWORD=server.admin_password,
    )
    sync = [sys.executable, "-m", "app", "sync", "--server", server.url, "--channel",
            "bench", "--username", server.admin_user]  # fmt: skip
    secs, _rss, first = run([*sync, "--base-weights", str(WEIGHTS)], env)
    if first.returncode != 0 or "published" not in first.stdout:
        print(first.stdout, first.stderr, file=sys.stderr)
        return 1
    print(f"first sync (downloads, trains, publishes): {secs:.1f} s")
    noop, ref, peak = [], [], []
    for _ in range(args.runs):
        secs, rss, res = run(sync, env)
        if res.returncode != 0 or "up to date" not in res.stdout:
            print(res.stdout, res.stderr, file=sys.stderr)
            return 1
        noop.append(secs), peak.append(rss)
        secs, _rss, _res = run([sys.executable, "-m", "app", "--version"], env)
        ref.append(secs)
    m, r = statistics.median(noop), statistics.median(ref)
    print(
        f"no-op sync, {n} products × {args.photos} photos, median of "
        f"{args.runs}: {m:.2f} s (min {min(noop):.2f}, max {max(noop):.2f}), peak "
        f"{max(peak):.0f} MB; `dukahub-trainer --version` {r:.2f} s; ratio {m / r:.2f}×"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--products", type=int, nargs="+", default=[50])
    ap.add_argument("--photos", type=int, default=2, help="photos per product (bulk: shared)")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--bulk", action="store_true", help="products created in bulk (see above)")
    ap.add_argument(
        "--cli-repo",
        type=Path,
        help="time the `python -m app` of another checkout (e.g. a git worktree of an older "
        "commit) against this tree's Vendure: before/after figures in one session",
    )
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(CHILDREN[args.child[0]](*args.child[1:])))
        return 0
    use_bulk = args.bulk or len(args.products) > 1 or args.products[0] > GROCERY_CLASSES
    if args.cli_repo is not None:
        global CLI_REPO
        CLI_REPO = args.cli_repo.resolve()
        if not (CLI_REPO / "app" / "__main__.py").is_file():
            ap.error(f"--cli-repo {args.cli_repo}: no app/__main__.py there")

    from vendure_server import fixtures as vf

    vf.build_server()
    work = Path(tempfile.mkdtemp(prefix="bench-sync-"))
    (work / "server").mkdir()
    from large_catalogue import LARGE_UPLOADS  # a 5,000-product weights.bin is 27 MB

    proc, server = vf.start_server(work / "server", extra_env=LARGE_UPLOADS)
    try:
        vf.seed(server)
        return (bulk if use_bulk else grocery)(args, vf, server, work)
    finally:
        vf.stop_server(proc)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
