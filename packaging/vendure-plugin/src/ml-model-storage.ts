/**
 * File-system side of the ML model plugin: no Vendure imports, so it can be reasoned
 * about (and reused) on its own.
 *
 * Layout under `<assets>/ml-models/<channelId>/`:
 *   .versions/<version>/{model.json,weights.bin,metadata.json}   immutable once written
 *   .tmp/<random>/                                                uploads being received
 *   latest -> .versions/<version>                                 relative symlink
 *
 * Linux cannot rename a directory over a non-empty one, so `latest` is a symlink that is
 * replaced with rename(2) — readers see either the old or the new version, never a mix.
 */
import { createHash, randomBytes } from 'crypto';
import { createWriteStream, promises as fs } from 'fs';
import * as path from 'path';
import { Readable } from 'stream';
import { pipeline } from 'stream/promises';

export const MODEL_FILES = ['model.json', 'weights.bin', 'metadata.json'] as const;
export type ModelFileName = (typeof MODEL_FILES)[number];

/** A version name: UTC timestamp to the millisecond plus randomness, sortable by age. */
const VERSION_RE = /^\d{8}T\d{9}Z-[0-9a-f]{6}$/;
/** Channel ids as encoded by Vendure's id strategies (numbers, uuids, "T_1"...). */
const CHANNEL_RE = /^[A-Za-z0-9_-]{1,64}$/;

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

function newVersionName(at: Date = new Date()): string {
    const iso = at.toISOString(); // 2026-11-25T22:53:42.123Z
    const stamp = iso.replace(/[-:]/g, '').replace('.', ''); // 20261125T225342123Z
    return `${stamp}-${randomBytes(3).toString('hex')}`;
}

/** Bytes the manifest says weights.bin must hold (quantized entries use their quantized dtype). */
export function expectedWeightBytes(manifest: unknown): number {
    if (!Array.isArray(manifest) || manifest.length === 0) {
        throw new ModelRejected('model.json has no weightsManifest.');
    }
    const paths = manifest.flatMap((g: any) => (Array.isArray(g?.paths) ? g.paths : [undefined]));
    if (paths.length !== 1 || paths[0] !== 'weights.bin') {
        throw new ModelRejected(
            `model.json must reference exactly one weights file named "weights.bin" (found ${JSON.stringify(paths)}).`,
        );
    }
    let total = 0;
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
                throw new ModelRejected(`model.json weight "${String(w?.name)}" has unsupported dtype "${String(dtype)}".`);
            }
            total += shape.reduce((a: number, b: number) => a * b, 1) * size;
        }
    }
    return total;
}

export class ModelStorage {
    /** One promise chain per channel: uploads and rollbacks of a channel run one at a time. */
    private readonly chains = new Map<string, Promise<unknown>>();

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
    async publish(channelId: string, streams: Record<ModelFileName, () => Readable>): Promise<StoredVersion> {
        const dir = this.channelDir(channelId);
        await fs.mkdir(path.join(dir, '.tmp'), { recursive: true });
        await fs.mkdir(path.join(dir, '.versions'), { recursive: true });
        await this.removeStaleTemp(dir);
        const tmp = await fs.mkdtemp(path.join(dir, '.tmp', 'upload-'));
        try {
            const files: StoredFile[] = [];
            for (const name of MODEL_FILES) {
                files.push(await this.receive(streams[name], path.join(tmp, name), name));
            }
            const metadata = await this.validate(tmp, channelId);
            return await this.serialise(channelId, async () => {
                const version = newVersionName();
                await fs.rename(tmp, path.join(dir, '.versions', version));
                await fsyncDir(path.join(dir, '.versions'));
                await this.pointLatestAt(dir, version);
                await this.prune(dir, version);
                return {
                    version,
                    trainedAt: typeof metadata.trainedAt === 'string' ? metadata.trainedAt : null,
                    createdAt: new Date().toISOString(),
                    current: true,
                    files,
                    metadata,
                };
            });
        } finally {
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
            await this.pointLatestAt(dir, version);
            return this.describe(dir, version, version);
        });
    }

    async currentVersion(channelId: string): Promise<string | null> {
        const dir = this.channelDir(channelId);
        const link = await fs.readlink(path.join(dir, 'latest')).catch(() => null);
        if (!link) return null;
        const version = path.basename(link);
        return isValidVersion(version) ? version : null;
    }

    async list(channelId: string): Promise<{ current: StoredVersion | null; versions: StoredVersion[] }> {
        const dir = this.channelDir(channelId);
        const current = await this.currentVersion(channelId);
        const names = (await fs.readdir(path.join(dir, '.versions')).catch(() => [] as string[]))
            .filter(isValidVersion)
            .sort()
            .reverse();
        const versions: StoredVersion[] = [];
        for (const name of names) {
            const v = await this.describe(dir, name, current).catch(() => null);
            if (v) versions.push(v);
        }
        return { current: versions.find(v => v.current) ?? null, versions };
    }

    /** Resolves a public request to a file of the served version, or null (404). */
    async resolveLatest(channelId: string, file: string): Promise<{ path: string; version: string } | null> {
        if (!isValidChannelDir(channelId) || !(MODEL_FILES as readonly string[]).includes(file)) return null;
        const version = await this.currentVersion(channelId);
        if (version) return { path: path.join(this.root, channelId, '.versions', version, file), version };
        // MVP layout (a plain `latest/` folder, before the first publish through this plugin)
        const legacy = path.join(this.root, channelId, 'latest', file);
        const st = await fs.lstat(path.join(this.root, channelId, 'latest')).catch(() => null);
        const fst = st?.isDirectory() ? await fs.stat(legacy).catch(() => null) : null;
        if (!fst?.isFile()) return null;
        return { path: legacy, version: `legacy-${Math.floor(fst.mtimeMs)}-${fst.size}` };
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
            if (e instanceof ModelRejected) throw e;
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

    private async validate(dir: string, channelId: string): Promise<Record<string, unknown>> {
        const model = parseJson(await fs.readFile(path.join(dir, 'model.json'), 'utf8'), 'model.json');
        if (typeof model.modelTopology !== 'object' || model.modelTopology === null) {
            throw new ModelRejected('model.json has no modelTopology: it is not a TensorFlow.js layers model.');
        }
        const expected = expectedWeightBytes(model.weightsManifest);
        const actual = (await fs.stat(path.join(dir, 'weights.bin'))).size;
        if (actual !== expected) {
            throw new ModelRejected(`weights.bin holds ${actual} bytes but model.json describes ${expected}.`);
        }
        const metadata = parseJson(await fs.readFile(path.join(dir, 'metadata.json'), 'utf8'), 'metadata.json');
        if (String(metadata.channelId ?? '') !== channelId) {
            throw new ModelRejected(
                `metadata.json is for channel "${String(metadata.channelId ?? '')}", not the active channel "${channelId}".`,
            );
        }
        const labels = metadata.labels;
        if (!Array.isArray(labels) || labels.length === 0 || !labels.every(l => typeof l === 'string' && l !== '')) {
            throw new ModelRejected('metadata.json must list the product ids as a non-empty "labels" array of strings.');
        }
        return metadata;
    }

    private async pointLatestAt(dir: string, version: string): Promise<void> {
        // A `latest/` folder from the MVP layout becomes a stored version first, because
        // rename(2) cannot put a symlink over a directory.
        const existing = await fs.lstat(path.join(dir, 'latest')).catch(() => null);
        if (existing?.isDirectory()) {
            await fs.rename(path.join(dir, 'latest'), path.join(dir, '.versions', newVersionName(existing.mtime)));
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

    /** Keeps the newest `keepVersions` versions, and always the served one. */
    private async prune(dir: string, current: string): Promise<void> {
        const names = (await fs.readdir(path.join(dir, '.versions'))).filter(isValidVersion).sort().reverse();
        const served = await fs.readlink(path.join(dir, 'latest')).then(l => path.basename(l)).catch(() => current);
        for (const name of names.slice(this.keepVersions)) {
            if (name === served || name === current) continue;
            await fs.rm(path.join(dir, '.versions', name), { recursive: true, force: true });
        }
    }

    private async removeStaleTemp(dir: string): Promise<void> {
        const tmpRoot = path.join(dir, '.tmp');
        const cutoff = Date.now() - 60 * 60 * 1000;
        for (const name of await fs.readdir(tmpRoot).catch(() => [] as string[])) {
            const st = await fs.stat(path.join(tmpRoot, name)).catch(() => null);
            if (st && st.mtimeMs < cutoff) await fs.rm(path.join(tmpRoot, name), { recursive: true, force: true });
        }
    }

    private async describe(dir: string, version: string, current: string | null): Promise<StoredVersion> {
        const vdir = path.join(dir, '.versions', version);
        const files: StoredFile[] = [];
        for (const name of MODEL_FILES) {
            const data = await fs.readFile(path.join(vdir, name));
            files.push({ name, size: data.length, sha256: createHash('sha256').update(data).digest('hex') });
        }
        const metadata = parseJson(await fs.readFile(path.join(vdir, 'metadata.json'), 'utf8'), 'metadata.json');
        const st = await fs.stat(vdir);
        return {
            version,
            trainedAt: typeof metadata.trainedAt === 'string' ? metadata.trainedAt : null,
            createdAt: st.mtime.toISOString(),
            current: version === current,
            files,
            metadata,
        };
    }
}

function parseJson(text: string, name: string): Record<string, any> {
    let value: unknown;
    try {
        value = JSON.parse(text);
    } catch (e: any) {
        throw new ModelRejected(`${name} is not valid JSON (${String(e?.message ?? e)}).`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        throw new ModelRejected(`${name} must contain a JSON object.`);
    }
    return value as Record<string, any>;
}

async function fsyncDir(dir: string): Promise<void> {
    const fh = await fs.open(dir, 'r');
    try {
        await fh.sync();
    } finally {
        await fh.close();
    }
}
