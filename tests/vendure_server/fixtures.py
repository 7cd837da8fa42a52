"""A real Vendure 3.7 server (with our ML model plugin) for end-to-end tests.

``vendure`` is session-scoped: installs the pinned packages if needed (``npm ci``),
compiles the config and the plugin with ``tsc``, starts Node on a free loopback port
with an in-memory sql.js database, seeds it through the Admin API and stops it at the
end. Under ``CI=true`` a missing Node/npm or grocery dataset fails instead of skipping.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
PLUGIN_SRC = REPO / "packaging" / "vendure-plugin" / "src"
POS_RECIPE = REPO / "packaging" / "vendure-plugin" / "pos"  # the README's POS code
ENTRY = HERE / "dist" / "tests" / "vendure_server" / "src" / "index.js"
POS_ENTRY = HERE / "dist" / "tests" / "vendure_server" / "src" / "pos.js"  # a stand-in POS
GROCERY = REPO.parent / "shared" / "datasets" / "grocery-fruit-veg"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
START_TIMEOUT = 120.0

# Product names seeded into the "fruit" channel and the dataset folder of their photos.
FRUIT = {
    "Golden Delicious": "Fruit/Apple/Golden-Delicious",
    "Granny Smith": "Fruit/Apple/Granny-Smith",
    "Banana": "Fruit/Banana",
    "Kiwi": "Fruit/Kiwi",
    "Lemon": "Fruit/Lemon",
    "Lime": "Fruit/Lime",
    "Mango": "Fruit/Mango",
    "Avocado": "Fruit/Avocado",
}
VEG = {name: f"Vegetables/{name}" for name in ("Carrots", "Garlic", "Ginger", "Leek", "Asparagus")}
IMAGES_PER_PRODUCT = 3
BULK_PRODUCTS = 120
NO_IMAGE_PRODUCT = "Gift card (no photo)"


@dataclass
class SeededChannel:
    code: str
    id: str
    token: str
    products: dict[str, str] = field(default_factory=dict)  # product id -> name
    images: dict[str, int] = field(default_factory=dict)  # product id -> number of images


@dataclass
class VendureServer:
    """Handle the tests use: where the server is, who may log in, what was seeded."""

    url: str
    admin_user: str
    admin_password: str
    asset_dir: Path
    log_path: Path
    pid: int = 0  # the Node process (the plugin tests read its memory use)
    channels: dict[str, SeededChannel] = field(default_factory=dict)
    users: dict[str, tuple[str, str]] = field(default_factory=dict)  # role -> (user, pw)

    @property
    def api(self) -> str:
        return f"{self.url}/admin-api"

    def model_dir(self, channel_code: str) -> Path:
        return self.asset_dir / "ml-models" / self.channels[channel_code].id

    def feedback_dir(self, channel_code: str) -> Path:
        """The plugin's default: ``ml-feedback`` beside (never inside) the asset folder."""
        return self.asset_dir.parent / "ml-feedback" / self.channels[channel_code].id

    def admin(self, channel_code: str | None = None) -> AdminApi:
        api = AdminApi(self.api)
        api.login(self.admin_user, self.admin_password)
        if channel_code:
            api.channel_token = self.channels[channel_code].token
        return api


class AdminApi:
    """Minimal raw Admin API client for seeding (independent of app.core.shop)."""

    def __init__(self, api_url: str) -> None:
        self.api_url = api_url
        self.session = requests.Session()
        self.token = ""
        self.channel_token = ""

    def _headers(self) -> dict[str, str]:
        h = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        if self.channel_token:
            h["vendure-token"] = self.channel_token
        return h

    def _check(self, resp: requests.Response) -> dict:
        if resp.headers.get("vendure-auth-token"):
            self.token = resp.headers["vendure-auth-token"]
        resp.raise_for_status()
        payload = resp.json()
        if payload.get("errors"):
            raise RuntimeError(f"Admin API error: {payload['errors']}")
        return payload["data"]

    def gql(self, query: str, variables: dict | None = None) -> dict:
        resp = self.session.post(
            self.api_url,
            json={"query": query, "variables": variables or {}},
            headers=self._headers(),
            timeout=60,
        )
        return self._check(resp)

    def login(self, username: str, password: str) -> None:
        data = self.gql(
            "mutation($u:String!,$p:String!){login(username:$u,password:$p){"
            "__typename ... on ErrorResult{message}}}",
            {"u": username, "p": password},
        )
        assert data["login"]["__typename"] == "CurrentUser", data

    def upload_assets(self, files: list[Path], mime: str = "image/jpeg") -> list[dict]:
        query = (
            "mutation($input:[CreateAssetInput!]!){createAssets(input:$input){"
            "__typename ... on Asset{id source} ... on ErrorResult{message}}}"
        )
        ops = {"query": query, "variables": {"input": [{"file": None} for _ in files]}}
        mapping = {str(i): [f"variables.input.{i}.file"] for i in range(len(files))}
        multipart = {str(i): (f.name, f.read_bytes(), mime) for i, f in enumerate(files)}
        resp = self.session.post(
            self.api_url,
            data={"operations": json.dumps(ops), "map": json.dumps(mapping)},
            files=multipart,
            headers=self._headers(),
            timeout=120,
        )
        assets = self._check(resp)["createAssets"]
        assert all(a["__typename"] == "Asset" for a in assets), assets
        return assets

    def create_product(self, name: str, asset_ids: list[str]) -> str:
        slug = "".join(c if c.isalnum() else "-" for c in name.lower()) + "-" + secrets.token_hex(3)
        data = self.gql(
            "mutation($input:CreateProductInput!){createProduct(input:$input){id}}",
            {
                "input": {
                    "translations": [
                        {"languageCode": "en", "name": name, "slug": slug, "description": ""}
                    ],
                    "featuredAssetId": asset_ids[0] if asset_ids else None,
                    "assetIds": asset_ids,
                }
            },
        )
        return str(data["createProduct"]["id"])


def _fail_or_skip(msg: str) -> None:
    if IN_CI:
        pytest.fail(msg)
    pytest.skip(msg)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _newest_mtime(*roots: Path) -> float:
    return max(
        (p.stat().st_mtime for r in roots for p in r.rglob("*.ts") if p.is_file()), default=0.0
    )


def build_server() -> None:
    """``npm ci`` when node_modules is missing or stale, ``tsc`` when sources changed.

    Holds a file lock so parallel pytest sessions sharing this checkout build once.
    """
    npm, node = shutil.which("npm"), shutil.which("node")
    if not npm or not node:
        _fail_or_skip("Node.js 20+ and npm are needed for the Vendure server tests")
    with (HERE / ".build.lock").open("w") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        _build(npm, node)


def _build(npm: str, node: str) -> None:
    marker = HERE / "node_modules" / ".package-lock.json"
    lock = HERE / "package-lock.json"
    if not marker.exists() or marker.stat().st_mtime < lock.stat().st_mtime:
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=HERE,
            check=True,
            timeout=600,
        )
    tsc = HERE / "node_modules" / "typescript" / "bin" / "tsc"
    sources = _newest_mtime(HERE / "src", PLUGIN_SRC, POS_RECIPE)
    built = ENTRY.stat().st_mtime if ENTRY.exists() else 0.0
    if built < max(sources, (HERE / "tsconfig.json").stat().st_mtime):
        subprocess.run(
            [node, str(tsc), "-p", str(HERE / "tsconfig.json")], cwd=HERE, check=True, timeout=300
        )
        ENTRY.touch()


def start_server(
    workdir: Path, extra_env: dict[str, str] | None = None, expect_failure: bool = False
) -> tuple[subprocess.Popen, VendureServer]:
    """Starts Node; ``extra_env`` overrides the test config (see src/index.ts).

    With ``expect_failure`` a server that exits is not a test failure: the caller gets
    the finished process (``returncode`` set) and reads ``server.log_path``.
    """
    port = _free_port()
    assets = workdir / "assets"
    assets.mkdir()
    password = secrets.token_urlsafe(12)
    log_path = workdir / "vendure.log"
    env = dict(
        os.environ,
        VENDURE_DISABLE_TELEMETRY="true",
        VENDURE_PORT=str(port),
        VENDURE_ASSET_DIR=str(assets),
        VENDURE_SUPERADMIN_USER="superadmin",
        VENDURE_SUPERADMIN_PASSWORD=password,
        NODE_ENV="test",
        **(extra_env or {}),
    )
    log = log_path.open("w")
    proc = subprocess.Popen(
        [shutil.which("node") or "node", str(ENTRY)],
        cwd=HERE,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    ready = threading.Event()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            log.write(line)
            log.flush()
            if line.startswith("VENDURE_READY"):
                ready.set()
        log.close()

    pumping = threading.Thread(target=pump, daemon=True, name="vendure-log")
    pumping.start()
    deadline = time.monotonic() + START_TIMEOUT
    while not ready.wait(0.2):
        if expect_failure and proc.poll() is not None:
            pumping.join(10)  # the whole log is written
            break
        if proc.poll() is not None or time.monotonic() > deadline:
            stop_server(proc)
            tail = log_path.read_text(errors="replace")[-3000:]
            pytest.fail(f"Vendure test server did not start:\n{tail}")
    server = VendureServer(
        url=f"http://127.0.0.1:{port}",
        admin_user="superadmin",
        admin_password=password,
        asset_dir=assets,
        log_path=log_path,
        pid=proc.pid,
    )
    return proc, server


def run_pos(job: dict, timeout: float = 60.0) -> dict:
    """Runs the stand-in POS (src/pos.ts) on one job; returns its JSON answer."""
    out = subprocess.run(
        [shutil.which("node") or "node", str(POS_ENTRY)],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=HERE,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout)


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=15)


def _photos(folder: str, n: int) -> list[Path]:
    files = sorted((GROCERY / "train" / folder).glob("*.jpg"))[:n]
    assert files, f"no photos in {GROCERY / 'train' / folder}"
    return files


def create_channel(server: VendureServer, api: AdminApi, code: str, zone: str) -> SeededChannel:
    """A channel in ``zone`` (tax and shipping), registered in ``server.channels``."""
    token = f"{code}-{secrets.token_hex(4)}"
    res = api.gql(
        "mutation($input:CreateChannelInput!){createChannel(input:$input){"
        "__typename ... on Channel{id code token} ... on ErrorResult{message}}}",
        {
            "input": {
                "code": code,
                "token": token,
                "defaultLanguageCode": "en",
                "pricesIncludeTax": True,
                "defaultCurrencyCode": "KES",
                "defaultTaxZoneId": zone,
                "defaultShippingZoneId": zone,
            }
        },
    )["createChannel"]
    assert res["__typename"] == "Channel", res
    ch = SeededChannel(code=code, id=str(res["id"]), token=token)
    server.channels[code] = ch
    return ch


def a_zone(api: AdminApi) -> str:
    """A zone channels can default to: the first one, made (Kenya) on a fresh server."""
    zones = api.gql("{ zones { items { id } } }")["zones"]["items"]
    if zones:
        return zones[0]["id"]
    country = api.gql(
        'mutation{createCountry(input:{code:"KE",enabled:true,'
        'translations:[{languageCode:en,name:"Kenya"}]}){id}}'
    )["createCountry"]["id"]
    return api.gql(
        'mutation($m:[ID!]){createZone(input:{name:"Kenya",memberIds:$m}){id}}', {"m": [country]}
    )["createZone"]["id"]


def seed(server: VendureServer) -> None:
    """Channels, products with real photos, roles and users — all through the Admin API."""
    api = server.admin()
    zone = a_zone(api)

    def channel(code: str) -> SeededChannel:
        return create_channel(server, api, code, zone)

    def products(ch: SeededChannel, catalogue: dict[str, str], per_product: int) -> None:
        api.channel_token = ch.token
        for name, folder in catalogue.items():
            assets = api.upload_assets(_photos(folder, per_product))
            pid = api.create_product(name, [a["id"] for a in assets])
            ch.products[pid] = name
            ch.images[pid] = len(assets)

    fruit = channel("fruit")
    products(fruit, FRUIT, IMAGES_PER_PRODUCT)
    pid = api.create_product(NO_IMAGE_PRODUCT, [])
    fruit.products[pid], fruit.images[pid] = NO_IMAGE_PRODUCT, 0

    veg = channel("veg")
    products(veg, VEG, 1)

    bulk = channel("bulk")
    api.channel_token = bulk.token
    pool = api.upload_assets([p for folder in FRUIT.values() for p in _photos(folder, 1)])
    for i in range(BULK_PRODUCTS):
        asset = pool[i % len(pool)]["id"]
        pid = api.create_product(f"Bulk item {i + 1:03d}", [asset])
        bulk.products[pid], bulk.images[pid] = f"Bulk item {i + 1:03d}", 1

    channel("empty")

    # only the superadmin works here: a shop moving from the MVP's plain latest/ folder
    legacy = channel("legacy")
    products(legacy, VEG, 1)

    api.channel_token = ""

    def role(code: str, permissions: list[str], channels: list[str]) -> str:
        return api.gql(
            "mutation($input:CreateRoleInput!){createRole(input:$input){id}}",
            {
                "input": {
                    "code": code,
                    "description": code,
                    "permissions": permissions,
                    "channelIds": [server.channels[c].id for c in channels],
                }
            },
        )["createRole"]["id"]

    def user(key: str, role_ids: list[str]) -> None:
        email = f"{key}@shop.test"
        password = secrets.token_urlsafe(10)
        api.gql(
            "mutation($input:CreateAdministratorInput!){createAdministrator(input:$input){id}}",
            {
                "input": {
                    "firstName": key,
                    "lastName": "Test",
                    "emailAddress": email,
                    "password": password,
                    "roleIds": role_ids,
                }
            },
        )
        server.users[key] = (email, password)

    trainer = role("ml-trainer", ["ReadCatalog", "UploadMlModel"], ["fruit", "bulk", "empty"])
    viewer = role("catalog-viewer", ["ReadCatalog"], ["fruit"])
    veg_trainer = role("veg-trainer", ["ReadCatalog", "UploadMlModel"], ["veg"])
    user("trainer", [trainer])
    user("viewer", [viewer])
    user("veg_trainer", [veg_trainer])


def add_channel(server: VendureServer, code: str) -> tuple[AdminApi, SeededChannel]:
    """One more channel on a seeded server; the returned API client works in it."""
    api = server.admin()
    ch = create_channel(server, api, code, a_zone(api))
    api.channel_token = ch.token
    return api, ch


def seed_grocery_channel(
    server: VendureServer, code: str, products: int, photos: int
) -> SeededChannel:
    """A channel of ``products`` grocery classes with ``photos`` real photos each."""
    api, ch = add_channel(server, code)
    folders = sorted({p.parent for p in (GROCERY / "train").rglob("*.jpg")})[:products]
    for folder in folders:
        assets = api.upload_assets(sorted(folder.glob("*.jpg"))[:photos])
        pid = api.create_product(folder.name.replace("-", " "), [a["id"] for a in assets])
        ch.products[pid] = folder.name.replace("-", " ")
        ch.images[pid] = len(assets)
    return ch


def seed_many_products(
    server: VendureServer, code: str, products: int, *, photos: int = 1, bulk: bool = True
) -> SeededChannel:
    """A channel of ``products`` products for scale tests, each showing one of ``photos``
    small shared photos (product i shows photo i mod ``photos``).

    ``bulk``: written in one transaction by the test server's ``testBulkProducts``
    (src/bulk.ts; 5,000 in a few seconds); otherwise through ``createProduct``, 100 to a
    GraphQL document (aliased mutations; 5,000 in about half a minute)."""
    api, ch = add_channel(server, code)
    pool = [a["id"] for a in api.upload_assets(_small_photos(photos))]
    if bulk:
        share = [products // len(pool) + (k < products % len(pool)) for k in range(len(pool))]
        for k, (asset, count) in enumerate(zip(pool, share, strict=True)):
            prefix = f"Item {k + 1}" if len(pool) > 1 else "Item"
            ids = api.gql(
                "mutation($p:String!,$n:Int!,$a:ID!){testBulkProducts(prefix:$p,count:$n,assetId:$a)}",
                {"p": prefix, "n": count, "a": asset},
            )["testBulkProducts"]
            for i, pid in enumerate(ids):
                ch.products[str(pid)], ch.images[str(pid)] = f"{prefix} {i + 1:05d}", 1
        return ch
    batch = 100
    for start in range(0, products, batch):
        names = [f"Item {i + 1:05d}" for i in range(start, min(products, start + batch))]
        fields = " ".join(f"p{k}: createProduct(input: $i{k}) {{ id }}" for k in range(len(names)))
        params = ", ".join(f"$i{k}: CreateProductInput!" for k in range(len(names)))
        variables = {}
        for k, name in enumerate(names):
            asset = pool[(start + k) % len(pool)]
            slug = f"{code}-{start + k + 1}"
            variables[f"i{k}"] = {
                "translations": [
                    {"languageCode": "en", "name": name, "slug": slug, "description": ""}
                ],
                "featuredAssetId": asset,
                "assetIds": [asset],
            }
        data = api.gql(f"mutation({params}) {{ {fields} }}", variables)
        for k, name in enumerate(names):
            pid = str(data[f"p{k}"]["id"])
            ch.products[pid], ch.images[pid] = name, 1
    return ch


def start_large_shop(
    workdir: Path, code: str, products: int, photos: int, extra_env: dict[str, str]
) -> tuple[subprocess.Popen, VendureServer]:
    """A server of its own (``extra_env``: e.g. larger upload limits) with one channel of
    ``products`` products (:func:`seed_many_products`) and nothing else: a few seconds."""
    build_server()
    proc, server = start_server(workdir, extra_env=extra_env)
    try:
        api = server.admin()
        country = api.gql(
            'mutation{createCountry(input:{code:"KE",enabled:true,'
            'translations:[{languageCode:en,name:"Kenya"}]}){id}}'
        )["createCountry"]["id"]
        api.gql(
            'mutation($m:[ID!]){createZone(input:{name:"Kenya",memberIds:$m}){id}}',
            {"m": [country]},
        )
        seed_many_products(server, code, products, photos=photos)
    except BaseException:
        stop_server(proc)
        raise
    return proc, server


def _small_photos(n: int) -> list[Path]:
    """``n`` small real photos (the grocery dataset's first ones, a few kB each)."""
    files = sorted((GROCERY / "train").rglob("*.jpg"), key=lambda p: p.stat().st_size)[:n]
    assert len(files) == n, f"fewer than {n} photos under {GROCERY / 'train'}"
    return files


@pytest.fixture(scope="session")
def vendure(tmp_path_factory) -> Iterator[VendureServer]:
    """A seeded, running Vendure with the ML model plugin; stopped after the session."""
    if not GROCERY.exists():
        _fail_or_skip(f"Grocery dataset not found at {GROCERY} (see ../shared/README.md)")
    build_server()
    proc, server = start_server(tmp_path_factory.mktemp("vendure"))
    try:
        seed(server)
        yield server
    finally:
        stop_server(proc)
