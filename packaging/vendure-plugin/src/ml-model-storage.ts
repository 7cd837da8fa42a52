/**
 * File-system side of the ML model plugin: no Vendure imports, so it can be reasoned
 * about (and reused) on its own.
 *
 * Layout under `<assets>/ml-models/<channelId>/`:
 *   .versions/<version>/{model.json,weights.bin,metadata.json}   immutable once written
 *   .versions/<version>/manifest.json                             sizes + sha256, written at publish
 *   .tmp/<random>/                                                uploads being received
 *   latest -> .versions/<version>                                 relative symlink
 *
 * Linux cannot rename a directory over a non-empty one, so `latest` is a symlink that is
 * replaced with rename(2) — readers see either the old or the new version, never a mix.
 */
import { createHash, randomBytes } from 'crypto';
import { createReadStream, createWriteStream, promises as fs } from 'fs';
import * as path from 'path';
import { Readable } from 'stream';
import { pipeline } from 'stream/promises';

export const MODEL_FILES = ['model.json', 'weights.bin', 'metadata.json'] as const;
export type ModelFileName = (typeof MODEL_FILES)[number];

/** Sizes and hashes of a stored version, written once when it is published. */
export const MANIFEST_FILE = 'manifest.json';

/** A version name: UTC timestamp to the millisecond plus randomness, sortable by age. */
const VERSION_RE = /^\d{8}T\d{9}Z-[0-9a-f]{6}$/;
/** The version of a plain `latest/` folder (the MVP layout), as `resolveLegacy` names it. */
const LEGACY_RE = /^legacy-\d{1,16}-\d{1,12}$/;
/** A label is a product id: the till's photos refuse longer ids (PRODUCT_ID_MAX there). */
const MAX_LABEL_CHARS = 64;
/** Channel ids as encoded by Vendure's id strategies (numbers, uuids, "T_1"...). */
const CHANNEL_RE = /^[A-Za-z0-9_-]{1,64}$/;
/** An upload temp folder whose newest file is older than this is left over from a crash. */
const STALE_UPLOAD_MS = 60 * 60 * 1000;
/** A `.latest-*` link lives for microseconds; one older than this is left over from a crash. */
const STALE_LINK_MS = 60 * 1000;

export interface StorageLimits {
    modelJsonBytes: number;
    weightsBytes: number;
    metadataBytes: number;
}

export interface StoredFile {
    name: ModelFileName;
    size: number;
    sha256: string;
}

export interface StoredVersion {
    version: string;
    trainedAt: string | null;
    createdAt: string;
    current: boolean;
    files: StoredFile[];
    metadata: Record<string, unknown>;
}

interface Manifest {
    format: 1;
    createdAt: string;
    files: StoredFile[];
}

/** A file the public route may serve, with what is needed to answer without reading it. */
export interface ServedFile {
    path: string;
    version: string;
    etag: string;
    /** true for `/v/<version>/…` URLs, whose bytes never change. */
    immutable: boolean;
}

/** A problem with what the client sent: reported to it verbatim, nothing is changed. */
export class ModelRejected extends Error {}

const BYTES_PER_ELEMENT: Record<string, number> = {
    float32: 4,
    int32: 4,
    bool: 1,
    // quantization dtypes
    uint8: 1,
    uint16: 2,
    float16: 2,
};

export function isValidChannelDir(channelId: string): boolean {
    return CHANNEL_RE.test(channelId);
}

export function isValidVersion(version: string): boolean {
    return VERSION_RE.test(version);
}

export function isModelFile(name: string): name is ModelFileName {
    return (MODEL_FILES as readonly string[]).includes(name);
}

/** Errors from the operating system (they carry server paths and must not reach clients). */
export function isSystemError(e: unknown): boolean {
    const err = e as { syscall?: unknown; path?: unknown; errno?: unknown } | null;
    return !!err && (typeof err.syscall === 'string' || typeof err.path === 'string' || typeof err.errno === 'number');
}

/**
 * A version name after every name in `after`, whatever the clock says. Versions are ordered
 * and pruned by name: a server clock set back (a board without a real-time clock, booted
 * before NTP; a clock a day ahead put right) named a new version older than the last ones,
 * and the next publish pruned the newest model while the stale ones stayed.
 */
function newVersionName(after: readonly string[] = [], at: Date = new Date()): string {
    let t = at.getTime();
    for (const name of after) {
        const last = versionTime(name);
        if (last !== null && t <= last) t = last + 1;
    }
    const iso = new Date(t).toISOString(); // 2026-11-25T22:53:42.123Z
    const stamp = iso.replace(/[-:]/g, '').replace('.', ''); // 20261125T225342123Z
    return `${stamp}-${randomBytes(3).toString('hex')}`;
}

/** The time a version name begins with (ms since the epoch), or null. */
function versionTime(name: string): number | null {
    const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\d{3})Z/.exec(name);
    if (!m) return null;
    const [y, mo, d, h, mi, s, ms] = m.slice(1).map(Number);
    return Date.UTC(y, mo - 1, d, h, mi, s, ms);
}

function sha256Hex(text: string): string {
    return createHash('sha256').update(text).digest('hex');
}

function etagOf(sha256: string): string {
    return `"${Buffer.from(sha256, 'hex').toString('base64url').slice(0, 32)}"`;
}

interface WeightEntry {
    name: string;
    /** dtype of the bytes in weights.bin (the quantized one for quantized entries) */
    dtype: string;
    bytes: number;
}

/** The weights manifest's entries in file order, checked against what weights.bin may hold. */
function weightEntries(manifest: unknown): WeightEntry[] {
    if (!Array.isArray(manifest) || manifest.length === 0) {
        throw new ModelRejected('model.json has no weightsManifest.');
    }
    const paths = manifest.flatMap((g: any) => (Array.isArray(g?.paths) ? g.paths : [undefined]));
    if (paths.length !== 1 || paths[0] !== 'weights.bin') {
        throw new ModelRejected(
            `model.json must reference exactly one weights file named "weights.bin" (found ${JSON.stringify(paths)}).`,
        );
    }
    const entries: WeightEntry[] = [];
    for (const group of manifest as any[]) {
        if (!Array.isArray(group.weights)) {
            throw new ModelRejected('model.json weightsManifest entry has no weights list.');
        }
        for (const w of group.weights) {
            const shape = w?.shape;
            if (!Array.isArray(shape) || !shape.every((d: unknown) => Number.isInteger(d) && (d as number) >= 0)) {
                throw new ModelRejected(`model.json weight "${String(w?.name)}" has an invalid shape.`);
            }
            const dtype: string = w.quantization?.dtype ?? w.dtype;
            const size = BYTES_PER_ELEMENT[dtype];
            if (!size) {
                throw new ModelRejected(`model.json weight "${String(w?.name)}" has an unsupported dtype "${String(dtype)}".`);
            }
            for (const key of ['scale', 'min']) {
                const v = w.quantization?.[key];
                if (v !== undefined && !(typeof v === 'number' && Number.isFinite(v))) {
                    throw new ModelRejected(`model.json weight "${String(w?.name)}" has a non-finite quantization ${key}.`);
                }
            }
            entries.push({ name: String(w.name), dtype, bytes: shape.reduce((a: number, b: number) => a * b, 1) * size });
        }
    }
    return entries;
}

/** Bytes the manifest says weights.bin must hold (quantized entries use their quantized dtype). */
export function expectedWeightBytes(manifest: unknown): number {
    return weightEntries(manifest).reduce((sum, e) => sum + e.bytes, 0);
}

/**
 * Finds the first NaN or ±Infinity among the float32 and float16 weights (an exponent
 * of all ones). Integer and uint8/uint16-quantized entries cannot hold one; their
 * scale/min were checked in `weightEntries`. Reads the file in 1 MiB slices.
 */
async function firstNonFinite(file: string, entries: WeightEntry[]): Promise<string | null> {
    const fh = await fs.open(file, 'r');
    try {
        const buf = Buffer.alloc(1024 * 1024);
        let offset = 0;
        for (const entry of entries) {
            const width = entry.dtype === 'float32' ? 4 : entry.dtype === 'float16' ? 2 : 0;
            if (width) {
                for (let done = 0; done < entry.bytes; ) {
                    const want = Math.min(buf.length, entry.bytes - done);
                    const { bytesRead } = await fh.read(buf, 0, want, offset + done);
                    if (bytesRead !== want) throw new ModelRejected('weights.bin ended early.');
                    if (width === 4) {
                        for (let i = 0; i < want; i += 4) {
                            if ((buf.readUInt32LE(i) & 0x7f800000) === 0x7f800000) return entry.name;
                        }
                    } else {
                        for (let i = 0; i < want; i += 2) {
                            if ((buf.readUInt16LE(i) & 0x7c00) === 0x7c00) return entry.name;
                        }
                    }
                    done += want;
                }
            }
            offset += entry.bytes;
        }
        return null;
    } finally {
        await fh.close();
    }
}

export class ModelStorage {
    /** One promise chain per channel: uploads and rollbacks of a channel run one at a time. */
    private readonly chains = new Map<string, Promise<unknown>>();
    /** Temp folders of uploads this process is receiving right now: never cleaned. */
    private readonly liveUploads = new Set<string>();
    /** Manifests by version folder; versions are immutable, so these never go stale. */
    private readonly manifests = new Map<string, Manifest>();

    constructor(
        readonly root: string,
        private readonly limits: StorageLimits,
        private readonly keepVersions: number,
    ) {}

    channelDir(channelId: string): string {
        if (!isValidChannelDir(channelId)) {
            throw new ModelRejected(`Invalid channel id "${channelId}".`);
        }
        return path.join(this.root, channelId);
    }

    /** Runs `task` after every earlier task of the same channel has finished. */
    serialise<T>(channelId: string, task: () => Promise<T>): Promise<T> {
        const previous = this.chains.get(channelId) ?? Promise.resolve();
        const run = previous.catch(() => undefined).then(task);
        const tail = run.catch(() => undefined);
        this.chains.set(channelId, tail);
        void tail.then(() => {
            if (this.chains.get(channelId) === tail) this.chains.delete(channelId);
        });
        return run;
    }

    /**
     * Streams the three uploads into a private temp folder, validates them and, only if
     * all is well, makes them the served version. Any failure removes the temp folder and
     * leaves `latest` exactly as it was.
     */
    async publish(
        channelId: string,
        streams: Record<ModelFileName, () => Readable>,
        onHousekeepingError: (e: unknown) => void = () => undefined,
    ): Promise<StoredVersion> {
        const dir = this.channelDir(channelId);
        await fs.mkdir(path.join(dir, '.tmp'), { recursive: true });
        await fs.mkdir(path.join(dir, '.versions'), { recursive: true });
        await this.removeStaleTemp(dir);
        const tmp = await fs.mkdtemp(path.join(dir, '.tmp', 'upload-'));
        this.liveUploads.add(tmp);
        try {
            const files: StoredFile[] = [];
            for (const name of MODEL_FILES) {
                files.push(await this.receive(streams[name], path.join(tmp, name), name));
            }
            const metadata = await this.validate(tmp, channelId, files);
            const manifest: Manifest = { format: 1, createdAt: new Date().toISOString(), files };
            await writeFileDurably(path.join(tmp, MANIFEST_FILE), JSON.stringify(manifest));
            return await this.serialise(channelId, async () => {
                const version = newVersionName(await this.versionNames(dir));
                const vdir = path.join(dir, '.versions', version);
                await fs.rename(tmp, vdir);
                this.manifests.set(vdir, manifest);
                await fsyncDir(path.join(dir, '.versions'));
                try {
                    await this.pointLatestAt(dir, version);
                } catch (e) {
                    // never served (a full disk): not kept either, or status would list it as the newest
                    const served = await fs.readlink(path.join(dir, 'latest')).then(l => path.basename(l), () => null);
                    if (served !== version) {
                        this.manifests.delete(vdir);
                        await fs.rm(vdir, { recursive: true, force: true }).catch(() => undefined);
                    }
                    throw e;
                }
                // the new model is served from here on: tidying up must not turn that into an error
                await this.prune(dir, version).catch(onHousekeepingError);
                return {
                    version,
                    trainedAt: typeof metadata.trainedAt === 'string' ? metadata.trainedAt : null,
                    createdAt: manifest.createdAt,
                    current: true,
                    files,
                    metadata,
                };
            });
        } finally {
            this.liveUploads.delete(tmp);
            await fs.rm(tmp, { recursive: true, force: true });
        }
    }

    async rollback(channelId: string, version: string): Promise<StoredVersion> {
        if (!isValidVersion(version)) {
            throw new ModelRejected(`"${version}" is not a model version name.`);
        }
        const dir = this.channelDir(channelId);
        return this.serialise(channelId, async () => {
            const target = path.join(dir, '.versions', version);
            const st = await fs.lstat(target).catch(() => null);
            if (!st || !st.isDirectory()) {
                throw new ModelRejected(`Model version ${version} does not exist for this channel.`);
            }
            // The manifest must list each of the three files once, each of the listed size
            // (stat: the bytes were hashed when the version was published), and weights.bin
            // must match metadata.json's weightsSha256 where it has one (a manifest rebuilt
            // from cut-short files would agree with them on sizes).
            const incomplete = new ModelRejected(`Model version ${version} is incomplete on the server and cannot be served.`);
            const manifest = await this.manifest(target).catch(() => null);
            const entries = (manifest?.files ?? []).filter(f => typeof f === 'object' && f !== null);
            const listed = new Map(entries.map(f => [String(f.name), f]));
            if (!manifest || manifest.files.length !== MODEL_FILES.length || !MODEL_FILES.every(n => listed.has(n))) {
                throw incomplete;
            }
            const sizes = await Promise.all(
                MODEL_FILES.map(n => fs.stat(path.join(target, n)).then(st => st.isFile() && st.size === listed.get(n)!.size, () => false)),
            );
            if (!sizes.every(Boolean)) throw incomplete;
            const metadata = await fs
                .readFile(path.join(target, 'metadata.json'), 'utf8')
                .then(text => parseJson(text, 'metadata.json'))
                .catch(() => null);
            if (!metadata) throw incomplete;
            if (metadata.weightsSha256 !== undefined) {
                const weights = await hashFile(path.join(target, 'weights.bin')).catch(() => null);
                if (!weights || weights.sha256 !== metadata.weightsSha256) {
                    throw new ModelRejected(
                        `Model version ${version} was changed on the server (weights.bin does not match metadata.json "weightsSha256") and cannot be served.`,
                    );
                }
            }
            await this.pointLatestAt(dir, version);
            return this.describe(dir, version, version);
        });
    }

    /**
     * A deleted channel's models go with it: served after the channel was gone, a
     * database that reused its id would have served them for a new channel.
     */
    async removeChannel(channelId: string): Promise<void> {
        const dir = this.channelDir(channelId);
        await this.serialise(channelId, async () => {
            for (const key of this.manifests.keys()) {
                if (key.startsWith(dir + path.sep)) this.manifests.delete(key);
            }
            await fs.rm(dir, { recursive: true, force: true });
        });
    }

    /** The served version: where `latest` points, or the newest stored one if `latest` is missing. */
    async currentVersion(channelId: string): Promise<string | null> {
        const dir = this.channelDir(channelId);
        const link = await fs.readlink(path.join(dir, 'latest')).catch((e: NodeJS.ErrnoException) => e);
        if (typeof link === 'string') {
            const version = path.basename(link);
            return isValidVersion(version) ? version : null;
        }
        // EINVAL: `latest` is a plain folder (the MVP layout), served as is
        if (link.code !== 'ENOENT') return null;
        // `latest` is missing only for a moment of the MVP migration (or after a crash
        // in it): the newest stored version is what is being switched to.
        return (await this.versionNames(dir))[0] ?? null;
    }

    async list(channelId: string): Promise<{ current: StoredVersion | null; versions: StoredVersion[] }> {
        const dir = this.channelDir(channelId);
        const current = await this.currentVersion(channelId);
        const versions: StoredVersion[] = [];
        for (const name of await this.versionNames(dir)) {
            const v = await this.describe(dir, name, current).catch(() => null);
            if (v) versions.push(v);
        }
        return { current: versions.find(v => v.current) ?? null, versions };
    }

    /**
     * Resolves a public request to a file of `pinned` (a version name), or of the served
     * version if `pinned` is null. Reads only the (cached) manifest, never the file
     * itself; null means 404.
     */
    async resolve(channelId: string, pinned: string | null, file: string): Promise<ServedFile | null> {
        if (!isValidChannelDir(channelId) || !isModelFile(file)) return null;
        const dir = path.join(this.root, channelId);
        const immutable = pinned !== null;
        if (pinned !== null && LEGACY_RE.test(pinned)) return this.resolveLegacy(dir, file, pinned);
        if (immutable && !isValidVersion(pinned)) return null;
        const version = immutable ? pinned : await this.currentVersion(channelId);
        if (version) {
            const vdir = path.join(dir, '.versions', version);
            const manifest = await this.manifest(vdir).catch((e: NodeJS.ErrnoException) => {
                if (e?.code === 'ENOENT' || e?.code === 'ENOTDIR') return null; // pruned meanwhile, or never existed
                throw e;
            });
            const entry = manifest?.files.find(f => f.name === file);
            if (!entry) return null;
            // latest/'s ETag names the version too: two versions can share a byte-identical
            // metadata.json (another client's), and a 304 on it must not hide new weights
            const etag = immutable ? etagOf(entry.sha256) : etagOf(sha256Hex(`${version}:${entry.sha256}`));
            return { path: path.join(vdir, file), version, etag, immutable };
        }
        if (immutable) return null;
        return this.resolveLegacy(dir, file, null);
    }

    /**
     * MVP layout: a plain `latest/` folder (before the first publish through this plugin,
     * or copied in by hand). Its version is one tag for all three files, from its
     * metadata.json, and `/v/<tag>/` serves them while that tag is current: a tag per
     * file, unknown under `/v/`, sent a POS following the README's recipe round for ever.
     */
    private async resolveLegacy(dir: string, file: string, pinned: string | null): Promise<ServedFile | null> {
        const st = await fs.lstat(path.join(dir, 'latest')).catch(() => null);
        if (!st?.isDirectory()) return null;
        const meta = await fs.stat(path.join(dir, 'latest', 'metadata.json')).catch(() => null);
        const fst = await fs.stat(path.join(dir, 'latest', file)).catch(() => null);
        if (!meta?.isFile() || !fst?.isFile()) return null;
        const tag = `legacy-${Math.floor(meta.mtimeMs)}-${meta.size}`;
        if (pinned !== null && pinned !== tag) return null; // replaced since: start again
        const etag = `"${tag}-${Math.floor(fst.mtimeMs)}-${fst.size}"`;
        return { path: path.join(dir, 'latest', file), version: tag, etag, immutable: false };
    }

    /** The manifest of a stored version; versions stored before manifests existed get one now. */
    private async manifest(vdir: string): Promise<Manifest> {
        const cached = this.manifests.get(vdir);
        if (cached) return cached;
        const text = await fs.readFile(path.join(vdir, MANIFEST_FILE), 'utf8').catch((e: NodeJS.ErrnoException) => {
            if (e.code === 'ENOENT') return null;
            throw e;
        });
        let manifest: Manifest | null = null;
        if (text !== null) {
            try {
                const parsed = JSON.parse(text);
                if (parsed?.format === 1 && Array.isArray(parsed.files)) manifest = parsed as Manifest;
            } catch {
                manifest = null; // rewritten below
            }
        }
        if (!manifest) {
            const files: StoredFile[] = [];
            for (const name of MODEL_FILES) files.push({ name, ...(await hashFile(path.join(vdir, name))) });
            const st = await fs.stat(vdir);
            manifest = { format: 1, createdAt: st.mtime.toISOString(), files };
            const tmp = path.join(vdir, `.${MANIFEST_FILE}-${randomBytes(4).toString('hex')}`);
            await writeFileDurably(tmp, JSON.stringify(manifest))
                .then(() => fs.rename(tmp, path.join(vdir, MANIFEST_FILE)))
                .catch(() => fs.rm(tmp, { force: true })); // a read-only store still serves
        }
        this.manifests.set(vdir, manifest);
        return manifest;
    }

    private async versionNames(dir: string): Promise<string[]> {
        const names = await fs.readdir(path.join(dir, '.versions')).catch(() => [] as string[]);
        return names.filter(isValidVersion).sort().reverse();
    }

    private async receive(open: () => Readable, dest: string, name: ModelFileName): Promise<StoredFile> {
        const limit = { 'model.json': this.limits.modelJsonBytes, 'weights.bin': this.limits.weightsBytes, 'metadata.json': this.limits.metadataBytes }[name];
        const hash = createHash('sha256');
        let size = 0;
        try {
            const source = open(); // throws at once if the upload was cut short or too large
            const out = createWriteStream(dest, { flags: 'wx', mode: 0o644 });
            await pipeline(
                source,
                async function* (chunks: AsyncIterable<Buffer>) {
                    for await (const chunk of chunks) {
                        size += chunk.length;
                        if (size > limit) {
                            throw new ModelRejected(`${name} is larger than the ${limit} byte limit.`);
                        }
                        hash.update(chunk);
                        yield chunk;
                    }
                },
                out,
            );
        } catch (e: any) {
            if (e instanceof ModelRejected || isSystemError(e)) throw e; // the latter: logged, not shown
            throw new ModelRejected(`Upload of ${name} did not complete (${String(e?.message ?? e)}).`);
        }
        if (size === 0) throw new ModelRejected(`${name} is empty.`);
        const fh = await fs.open(dest, 'r');
        try {
            await fh.sync();
        } finally {
            await fh.close();
        }
        return { name, size, sha256: hash.digest('hex') };
    }

    private async validate(dir: string, channelId: string, files: StoredFile[]): Promise<Record<string, unknown>> {
        const model = parseJson(await fs.readFile(path.join(dir, 'model.json'), 'utf8'), 'model.json', MAX_MODEL_DEPTH);
        if (typeof model.modelTopology !== 'object' || model.modelTopology === null) {
            throw new ModelRejected('model.json has no modelTopology: it is not a TensorFlow.js layers model.');
        }
        const entries = weightEntries(model.weightsManifest);
        const expected = entries.reduce((sum, e) => sum + e.bytes, 0);
        const weights = files.find(f => f.name === 'weights.bin')!;
        if (weights.size !== expected) {
            throw new ModelRejected(`weights.bin holds ${weights.size} bytes but model.json describes ${expected}.`);
        }
        const metadata = parseJson(
            await fs.readFile(path.join(dir, 'metadata.json'), 'utf8'),
            'metadata.json',
            MAX_METADATA_DEPTH,
        );
        if (String(metadata.channelId ?? '') !== channelId) {
            throw new ModelRejected(
                `metadata.json is for channel "${String(metadata.channelId ?? '')}", not the active channel "${channelId}".`,
            );
        }
        const labels = metadata.labels;
        if (!Array.isArray(labels) || labels.length === 0 || !labels.every(l => typeof l === 'string' && l !== '')) {
            throw new ModelRejected('metadata.json must list the product ids as a non-empty "labels" array of strings.');
        }
        const long = labels.find(l => l.length > MAX_LABEL_CHARS);
        if (long !== undefined) {
            throw new ModelRejected(
                `metadata.json label "${long.slice(0, 20)}…" is longer than ${MAX_LABEL_CHARS} characters: not a product id.`,
            );
        }
        // what the POS acts on: a threshold of -5 added every product without asking, an
        // imageSize of a million drew a canvas no till could
        const threshold = metadata.acceptThreshold;
        if (
            threshold !== undefined &&
            threshold !== null &&
            !(typeof threshold === 'number' && ((threshold >= 0 && threshold <= 1) || threshold === 1.01))
        ) {
            throw new ModelRejected(
                'metadata.json "acceptThreshold" must be a number from 0 to 1, or 1.01 (the till never adds by itself).',
            );
        }
        const side = metadata.imageSize;
        if (side !== undefined && !(Number.isInteger(side) && side >= 32 && side <= 1024)) {
            throw new ModelRejected('metadata.json "imageSize" must be a whole number of pixels from 32 to 1024.');
        }
        const twice = labels.find((l, i) => labels.indexOf(l) !== i);
        if (twice !== undefined) {
            throw new ModelRejected(`metadata.json lists product id "${twice}" twice in "labels": one label per output.`);
        }
        // the POS names output i labels[i]: a count that differs names the wrong products
        const outputs = outputUnits(model.modelTopology);
        if (outputs !== null && outputs !== labels.length) {
            throw new ModelRejected(
                `model.json's last layer has ${outputs} outputs but metadata.json lists ${labels.length} labels.`,
            );
        }
        const checksum = metadata.weightsSha256;
        if (checksum !== undefined) {
            if (typeof checksum !== 'string' || !/^[0-9a-f]{64}$/.test(checksum)) {
                throw new ModelRejected('metadata.json "weightsSha256" must be 64 lower-case hex digits.');
            }
            if (checksum !== weights.sha256) {
                throw new ModelRejected('weights.bin does not match its checksum (metadata.json "weightsSha256").');
            }
        }
        const bad = await firstNonFinite(path.join(dir, 'weights.bin'), entries);
        if (bad !== null) {
            throw new ModelRejected(`weights.bin holds NaN or infinite values (in weight "${bad}"): the model is broken.`);
        }
        return metadata;
    }

    private async pointLatestAt(dir: string, version: string): Promise<void> {
        await this.removeStrayLinks(dir);
        // A `latest/` folder from the MVP layout becomes a stored version first, because
        // rename(2) cannot put a symlink over a directory. Until the link is in place,
        // readers are served the newest version (see currentVersion).
        const existing = await fs.lstat(path.join(dir, 'latest')).catch(() => null);
        if (existing?.isDirectory()) {
            await fs.rename(path.join(dir, 'latest'), path.join(dir, '.versions', newVersionName([], existing.mtime)));
        }
        const tmpLink = path.join(dir, `.latest-${randomBytes(6).toString('hex')}`);
        await fs.symlink(path.join('.versions', version), tmpLink);
        try {
            await fs.rename(tmpLink, path.join(dir, 'latest'));
        } catch (e) {
            await fs.rm(tmpLink, { force: true });
            throw e;
        }
        await fsyncDir(dir);
    }

    /** `.latest-*` links left by a crash between symlink() and rename(). */
    private async removeStrayLinks(dir: string): Promise<void> {
        const cutoff = Date.now() - STALE_LINK_MS;
        for (const name of await fs.readdir(dir).catch(() => [] as string[])) {
            if (!name.startsWith('.latest-')) continue;
            const st = await fs.lstat(path.join(dir, name)).catch(() => null);
            if (st?.isSymbolicLink() && st.mtimeMs < cutoff) await fs.rm(path.join(dir, name), { force: true });
        }
    }

    /** Keeps the newest `keepVersions` stored versions, and always the served one. */
    private async prune(dir: string, current: string): Promise<void> {
        const names = await this.versionNames(dir);
        const served = await fs.readlink(path.join(dir, 'latest')).then(l => path.basename(l)).catch(() => current);
        for (const name of names.slice(this.keepVersions)) {
            if (name === served || name === current) continue;
            const vdir = path.join(dir, '.versions', name);
            this.manifests.delete(vdir);
            await fs.rm(vdir, { recursive: true, force: true });
        }
    }

    /**
     * Removes upload folders left over from crashes. An upload this process is receiving
     * is never touched, however slow; for other processes sharing the folder, the age is
     * that of the newest file inside (it changes with every chunk written).
     */
    private async removeStaleTemp(dir: string): Promise<void> {
        const tmpRoot = path.join(dir, '.tmp');
        const cutoff = Date.now() - STALE_UPLOAD_MS;
        for (const name of await fs.readdir(tmpRoot).catch(() => [] as string[])) {
            const folder = path.join(tmpRoot, name);
            if (this.liveUploads.has(folder)) continue;
            const st = await fs.lstat(folder).catch(() => null);
            if (!st) continue;
            let newest = st.mtimeMs;
            if (st.isDirectory()) {
                for (const inner of await fs.readdir(folder).catch(() => [] as string[])) {
                    const ist = await fs.lstat(path.join(folder, inner)).catch(() => null);
                    if (ist) newest = Math.max(newest, ist.mtimeMs);
                }
            }
            if (newest < cutoff) await fs.rm(folder, { recursive: true, force: true });
        }
    }

    private async describe(dir: string, version: string, current: string | null): Promise<StoredVersion> {
        const vdir = path.join(dir, '.versions', version);
        const manifest = await this.manifest(vdir);
        const metadata = parseJson(await fs.readFile(path.join(vdir, 'metadata.json'), 'utf8'), 'metadata.json');
        return {
            version,
            trainedAt: typeof metadata.trainedAt === 'string' ? metadata.trainedAt : null,
            createdAt: manifest.createdAt,
            current: version === current,
            files: manifest.files,
            metadata,
        };
    }
}

/**
 * How deeply metadata.json and model.json may nest. The metadata goes out whole through
 * GraphQL (`mlModel { versions { metadata } }`), whose serialiser recurses: 20,000 nested
 * arrays overflowed its stack, every status query of the channel failed, and so did the
 * trainer's next publish, which asks first. Ours nest 4 and 16 deep (Teachable Machine's 2, 15).
 */
const MAX_METADATA_DEPTH = 32;
const MAX_MODEL_DEPTH = 64;

/** How deeply `value` nests (a scalar is 0), counted without recursion; stops past `limit`. */
function depthOf(value: unknown, limit: number): number {
    let deepest = 0;
    const todo: Array<[unknown, number]> = [[value, 0]];
    while (todo.length) {
        const [v, d] = todo.pop()!;
        if (typeof v !== 'object' || v === null) continue;
        deepest = Math.max(deepest, d + 1);
        if (deepest > limit) return deepest;
        for (const child of Object.values(v)) todo.push([child, d + 1]);
    }
    return deepest;
}

function parseJson(text: string, name: string, maxDepth = MAX_METADATA_DEPTH): Record<string, any> {
    let value: unknown;
    try {
        value = JSON.parse(text);
    } catch (e: any) {
        throw new ModelRejected(`${name} is not valid JSON (${String(e?.message ?? e)}).`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        throw new ModelRejected(`${name} must contain a JSON object.`);
    }
    if (depthOf(value, maxDepth) > maxDepth) {
        throw new ModelRejected(`${name} nests more than ${maxDepth} levels deep.`);
    }
    return value as Record<string, any>;
}

/**
 * The number of outputs of a layers model's last Dense layer (Teachable Machine's and
 * ours end in one, then a softmax); null when the topology does not say (then the count
 * is not checked).
 */
function outputUnits(topology: unknown): number | null {
    const top = (topology as any)?.model_config ?? topology;
    const todo: unknown[] = [top];
    for (let seen = 0; todo.length && seen < 10_000; seen++) {
        const layer = todo.pop() as any;
        if (!layer || typeof layer !== 'object') continue;
        const config = layer.config;
        if (layer.class_name === 'Dense') {
            return Number.isInteger(config?.units) ? config.units : null;
        }
        const inner = Array.isArray(config?.layers) ? config.layers : Array.isArray(config) ? config : null;
        if (inner) todo.push(...inner); // the last layer is popped first
    }
    return null;
}

async function hashFile(file: string): Promise<{ size: number; sha256: string }> {
    const hash = createHash('sha256');
    let size = 0;
    for await (const chunk of createReadStream(file)) {
        size += (chunk as Buffer).length;
        hash.update(chunk as Buffer);
    }
    return { size, sha256: hash.digest('hex') };
}

async function writeFileDurably(file: string, text: string): Promise<void> {
    const fh = await fs.open(file, 'wx', 0o644);
    try {
        await fh.writeFile(text);
        await fh.sync();
    } finally {
        await fh.close();
    }
}

async function fsyncDir(dir: string): Promise<void> {
    const fh = await fs.open(dir, 'r');
    try {
        await fh.sync();
    } finally {
        await fh.close();
    }
}
