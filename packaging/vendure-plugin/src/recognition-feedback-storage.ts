/**
 * File-system side of recognition feedback — the camera frames the POS sends after a
 * sale line, with the product the cashier chose and the model's top three. No Vendure
 * imports, like ml-model-storage.ts.
 *
 * Layout under `<feedbackDir>/<channelId>/` — a folder that is never inside the asset
 * folder (the plugin refuses to start otherwise), so no public route can reach it:
 *   frames/<id>.jpg    the frame as received (0600)
 *   frames/<id>.json   its record, renamed in last: a record always has its frame
 *   stats.json         counters per model version and UTC hour; they outlive the frames
 *   .tmp/              files being written
 *
 * Ids are UTC timestamps to the millisecond plus randomness, strictly increasing per
 * channel (writes of a channel run one at a time), so "everything after id X" is a
 * cursor that never skips a frame. The quota (count and bytes per channel) is made room
 * for before a frame is written, oldest first, so the folder never holds more.
 */
import { createHash, randomBytes } from 'crypto';
import { promises as fs } from 'fs';
import * as path from 'path';

/** Feedback ids: `20261125T225342123Z-a1b2c3`, sortable by age as plain strings. */
const ID_RE = /^\d{8}T\d{9}Z-[0-9a-f]{6}$/;
/** Channel ids as encoded by Vendure's id strategies (numbers, uuids, "T_1"...). */
const CHANNEL_RE = /^[A-Za-z0-9_-]{1,64}$/;
const STATS_FILE = 'stats.json';
/**
 * Hour buckets kept in stats.json (versions × hours: a year of a till busy 14 hours a
 * day). Past it the buckets with the fewest photos go first, the oldest of those first:
 * by age alone a till sending made-up versions, one photo each, pushed every real
 * version's history out.
 */
const MAX_STAT_BUCKETS = 5000;

export interface FeedbackLimits {
    /** Largest frame accepted, in bytes. */
    maxImageBytes: number;
    /** Smallest and largest width/height accepted, in pixels. */
    minImageSide: number;
    maxImageSide: number;
    /** Quota per channel: frames kept, and their bytes in total. */
    maxPerChannel: number;
    maxBytesPerChannel: number;
}

export interface Prediction {
    productId: string;
    probability: number;
}

/** What the POS sends besides the image, already checked by {@link checkSubmission}. */
export interface FeedbackInput {
    productId: string;
    modelVersion: string;
    /** Highest probability first (sorted by checkSubmission). */
    predictions: Prediction[];
    clientRef: string | null;
    userId: string | null;
}

export interface FeedbackRecord extends FeedbackInput {
    format: 1;
    id: string;
    receivedAt: string;
    bytes: number;
    width: number;
    height: number;
    sha256: string;
}

export interface Receipt {
    id: string;
    receivedAt: string;
    /** true when this clientRef was already stored: nothing new was stored. */
    duplicate: boolean;
    /** Older frames removed to stay within the quota. */
    dropped: number;
}

export interface FeedbackPage {
    records: FeedbackRecord[];
    /** Frames after the cursor (all of them, not only this page). */
    totalItems: number;
    hasMore: boolean;
    nextCursor: string | null;
}

export interface VersionStats {
    modelVersion: string;
    photos: number;
    top1Right: number;
    top3Right: number;
    averageConfidence: number | null;
    corrections: number;
    firstAt: string;
    lastAt: string;
}

export type RejectReason =
    | 'NOT_JPEG'
    | 'UNSUPPORTED_JPEG'
    | 'TRUNCATED'
    | 'BAD_DIMENSIONS'
    | 'TOO_LARGE'
    | 'UPLOAD_INCOMPLETE'
    | 'UNKNOWN_PRODUCT'
    | 'BAD_PREDICTIONS'
    | 'BAD_MODEL_VERSION'
    | 'BAD_CLIENT_REF'
    | 'BAD_ARGUMENT';

/** A problem with what the client sent: reported to it with its reason, nothing stored. */
export class FeedbackRejected extends Error {
    constructor(
        readonly reason: RejectReason,
        message: string,
    ) {
        super(message);
    }
}

export function isFeedbackId(id: string): boolean {
    return ID_RE.test(id);
}

// ------------------------------------------------------------------ checks

const VERSION_RE = /^[A-Za-z0-9._:+-]{1,64}$/;
const REF_RE = /^[A-Za-z0-9_-]{1,64}$/;
const PRODUCT_ID_MAX = 64;

/**
 * Checks the fields of a submission (not the image, not whether the product exists)
 * and returns them normalised: predictions sorted by probability, highest first.
 */
export function checkSubmission(raw: {
    productId: unknown;
    modelVersion: unknown;
    predictions: unknown;
    clientRef?: unknown;
}): Omit<FeedbackInput, 'userId'> {
    const productId = String(raw.productId ?? '');
    if (!productId || productId.length > PRODUCT_ID_MAX) {
        throw new FeedbackRejected('UNKNOWN_PRODUCT', 'The chosen product id is empty or too long.');
    }
    const modelVersion = String(raw.modelVersion ?? '');
    if (!VERSION_RE.test(modelVersion)) {
        throw new FeedbackRejected(
            'BAD_MODEL_VERSION',
            'modelVersion must be the served version (the X-Ml-Model-Version header): 1-64 letters, digits or ._:+-',
        );
    }
    let clientRef: string | null = null;
    if (raw.clientRef !== undefined && raw.clientRef !== null) {
        clientRef = String(raw.clientRef);
        if (!REF_RE.test(clientRef)) {
            throw new FeedbackRejected('BAD_CLIENT_REF', 'clientRef must be 1-64 letters, digits, "-" or "_".');
        }
    }
    const list = raw.predictions;
    if (!Array.isArray(list) || list.length < 1 || list.length > 3) {
        throw new FeedbackRejected('BAD_PREDICTIONS', "predictions must hold the model's top one to three products.");
    }
    const seen = new Set<string>();
    const predictions: Prediction[] = [];
    let sum = 0;
    for (const p of list as Array<{ productId?: unknown; probability?: unknown }>) {
        const id = String(p?.productId ?? '');
        const probability = p?.probability;
        if (!id || id.length > PRODUCT_ID_MAX || seen.has(id)) {
            throw new FeedbackRejected('BAD_PREDICTIONS', 'Each prediction needs a distinct product id.');
        }
        if (typeof probability !== 'number' || !Number.isFinite(probability) || probability < 0 || probability > 1) {
            throw new FeedbackRejected('BAD_PREDICTIONS', `The probability of product ${id} is not between 0 and 1.`);
        }
        seen.add(id);
        sum += probability;
        predictions.push({ productId: id, probability });
    }
    if (sum > 1.01) {
        throw new FeedbackRejected('BAD_PREDICTIONS', `The probabilities add up to ${sum.toFixed(3)}, more than 1.`);
    }
    predictions.sort((a, b) => b.probability - a.probability); // stable: ties keep their order
    return { productId, modelVersion, predictions, clientRef };
}

/** Start-of-frame markers of the JPEGs every browser decodes: baseline, extended, progressive. */
const SOF_SUPPORTED = new Set([0xc0, 0xc1, 0xc2]);
/** Other start-of-frame markers (lossless, hierarchical, arithmetic coding). */
const SOF_OTHER = new Set([0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf]);

/**
 * Walks a JPEG's segments without decoding pixels: the signature, a supported frame
 * header whose width and height are within limits (checked as soon as it is read, so a
 * 30000×30000 header is refused before anything else), a scan, and the end-of-image
 * marker (a cut-off file has none). Returns the dimensions.
 */
export function inspectJpeg(buf: Buffer, limits: Pick<FeedbackLimits, 'minImageSide' | 'maxImageSide'>): {
    width: number;
    height: number;
} {
    if (buf.length < 4 || buf[0] !== 0xff || buf[1] !== 0xd8 || buf[2] !== 0xff) {
        throw new FeedbackRejected('NOT_JPEG', 'The image is not a JPEG file.');
    }
    const truncated = () => new FeedbackRejected('TRUNCATED', 'The JPEG is cut off or damaged (it does not end properly).');
    let pos = 2;
    let size: { width: number; height: number } | null = null;
    let scanned = false; // a header and an end with no scan between is a JPEG without pixels
    while (pos < buf.length) {
        if (buf[pos] !== 0xff) throw truncated();
        while (pos < buf.length && buf[pos] === 0xff) pos++; // fill bytes
        if (pos >= buf.length) throw truncated();
        const marker = buf[pos++];
        if (marker === 0xd9) {
            if (!size || !scanned) throw truncated(); // an end before any image
            return size;
        }
        if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) continue; // no length
        if (pos + 2 > buf.length) throw truncated();
        const length = buf.readUInt16BE(pos);
        if (length < 2 || pos + length > buf.length) throw truncated();
        const body = pos + 2;
        if (SOF_SUPPORTED.has(marker) || SOF_OTHER.has(marker)) {
            if (length < 8) throw truncated();
            if (!SOF_SUPPORTED.has(marker)) {
                throw new FeedbackRejected('UNSUPPORTED_JPEG', 'Only baseline and progressive JPEGs are accepted.');
            }
            const height = buf.readUInt16BE(body + 1);
            const width = buf.readUInt16BE(body + 3);
            const components = buf[body + 5];
            const { minImageSide: lo, maxImageSide: hi } = limits;
            if (width < lo || height < lo || width > hi || height > hi) {
                throw new FeedbackRejected(
                    'BAD_DIMENSIONS',
                    `The JPEG is ${width}×${height} pixels; width and height must be ${lo} to ${hi}.`,
                );
            }
            if (components !== 1 && components !== 3) {
                throw new FeedbackRejected('UNSUPPORTED_JPEG', 'Only greyscale and colour (YCbCr) JPEGs are accepted.');
            }
            size = { width, height };
        }
        pos += length;
        if (marker === 0xda) {
            if (!size) throw truncated(); // a scan before the frame header
            scanned = true;
            // entropy-coded data: runs until a marker other than a stuffed 0xFF00 or a restart
            for (;;) {
                const ff = buf.indexOf(0xff, pos);
                if (ff < 0 || ff + 1 >= buf.length) throw truncated();
                const next = buf[ff + 1];
                if (next === 0x00 || (next >= 0xd0 && next <= 0xd7) || next === 0xff) {
                    pos = ff + (next === 0xff ? 1 : 2);
                    continue;
                }
                pos = ff;
                break;
            }
        }
    }
    throw truncated();
}

// ------------------------------------------------------------------ storage

interface IndexEntry {
    bytes: number;
    clientRef: string | null;
}

interface StatBucket {
    photos: number;
    top1: number;
    top3: number;
    confidenceSum: number;
    corrections: number;
    first: string;
    last: string;
}

/**
 * version -> UTC hour (YYYY-MM-DDTHH) -> counters. By the hour, so a shop's own day can
 * be asked for in any time zone (by the UTC day, "today" in Los Angeles began at 16:00
 * the day before). Tables written before keep their whole UTC days (YYYY-MM-DD).
 */
type StatsTable = Record<string, Record<string, StatBucket>>;

/**
 * A table keyed by what a till sends (a model version, a day): without a prototype,
 * so a version named `__proto__` or `constructor` is a key like any other. On a plain
 * object `table["__proto__"] ??= {}` returned Object.prototype, the day's counter was
 * written onto it, and every later database query of the process failed.
 */
function keyed<T>(from?: Record<string, T>): Record<string, T> {
    const out: Record<string, T> = Object.create(null);
    if (from && typeof from === 'object') for (const [k, v] of Object.entries(from)) out[k] = v;
    return out;
}

/** stats.json as read back: every level without a prototype (see `keyed`). */
function statsTable(raw: unknown): StatsTable {
    const out: StatsTable = keyed();
    if (!raw || typeof raw !== 'object') return out;
    for (const [version, days] of Object.entries(raw as Record<string, unknown>)) {
        if (days && typeof days === 'object') out[version] = keyed(days as Record<string, StatBucket>);
    }
    return out;
}

interface ChannelState {
    /** Ids, oldest first. */
    order: string[];
    entries: Map<string, IndexEntry>;
    byRef: Map<string, string>;
    totalBytes: number;
    stats: StatsTable;
    lastMs: number;
}

/** Parses the millisecond timestamp of an id. */
function idMillis(id: string): number {
    const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\d{3})Z/.exec(id);
    return m ? Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6], +m[7]) : 0;
}

function idAt(ms: number): string {
    const stamp = new Date(ms).toISOString().replace(/[-:]/g, '').replace('.', '');
    return `${stamp}-${randomBytes(3).toString('hex')}`;
}

function isMissing(e: unknown): boolean {
    return (e as NodeJS.ErrnoException)?.code === 'ENOENT';
}

export class FeedbackStorage {
    /** One promise chain per channel: writes of a channel run one at a time. */
    private readonly chains = new Map<string, Promise<unknown>>();
    private readonly states = new Map<string, Promise<ChannelState>>();

    constructor(
        readonly root: string,
        readonly limits: FeedbackLimits,
    ) {}

    channelDir(channelId: string): string {
        if (!CHANNEL_RE.test(channelId)) throw new Error(`Invalid channel id "${channelId}".`);
        return path.join(this.root, channelId);
    }

    private serialise<T>(channelId: string, task: () => Promise<T>): Promise<T> {
        const previous = this.chains.get(channelId) ?? Promise.resolve();
        const run = previous.catch(() => undefined).then(task);
        const tail = run.catch(() => undefined);
        this.chains.set(channelId, tail);
        void tail.then(() => {
            if (this.chains.get(channelId) === tail) this.chains.delete(channelId);
        });
        return run;
    }

    /** The channel's index, read from disk once per process (writes keep it current). */
    private state(channelId: string): Promise<ChannelState> {
        let state = this.states.get(channelId);
        if (!state) {
            state = this.load(channelId);
            this.states.set(channelId, state);
            state.catch(() => this.states.delete(channelId)); // a failed read is retried next time
        }
        return state;
    }

    private async load(channelId: string): Promise<ChannelState> {
        const dir = this.channelDir(channelId);
        const frames = path.join(dir, 'frames');
        const names = await fs.readdir(frames).catch(e => {
            if (isMissing(e)) return [] as string[];
            throw e;
        });
        const jpgs = new Set(names.filter(n => n.endsWith('.jpg')).map(n => n.slice(0, -4)));
        const jsons = new Set(names.filter(n => n.endsWith('.json')).map(n => n.slice(0, -5)));
        const state: ChannelState = { order: [], entries: new Map(), byRef: new Map(), totalBytes: 0, stats: keyed(), lastMs: 0 };
        for (const id of [...jsons].sort()) {
            if (!isFeedbackId(id) || !jpgs.has(id)) {
                await fs.rm(path.join(frames, `${id}.json`), { force: true });
                continue;
            }
            const record = await readRecord(path.join(frames, `${id}.json`));
            const st = await fs.stat(path.join(frames, `${id}.jpg`)).catch(() => null);
            if (!record || !st) {
                await removeFrame(frames, id);
                continue;
            }
            state.order.push(id);
            state.entries.set(id, { bytes: st.size, clientRef: record.clientRef });
            if (record.clientRef) state.byRef.set(record.clientRef, id);
            state.totalBytes += st.size;
        }
        for (const id of jpgs) {
            if (!state.entries.has(id)) await fs.rm(path.join(frames, `${id}.jpg`), { force: true }); // never recorded
        }
        await fs.rm(path.join(dir, '.tmp'), { recursive: true, force: true });
        state.lastMs = state.order.length ? idMillis(state.order[state.order.length - 1]) : 0;
        const statsText = await fs.readFile(path.join(dir, STATS_FILE), 'utf8').catch(e => {
            if (isMissing(e)) return null;
            throw e;
        });
        if (statsText) {
            try {
                const parsed = JSON.parse(statsText);
                if (parsed && typeof parsed.versions === 'object') state.stats = statsTable(parsed.versions);
            } catch {
                // a damaged stats file (a crash mid-write cannot cause one: it is renamed in)
            }
        }
        return state;
    }

    /**
     * Stores one checked frame. A frame whose `clientRef` is already stored (a POS
     * retrying after a lost answer) is not stored again: its first receipt is returned.
     */
    async submit(
        channelId: string,
        input: FeedbackInput,
        image: Buffer,
        size: { width: number; height: number },
    ): Promise<Receipt> {
        const dir = this.channelDir(channelId);
        const frames = path.join(dir, 'frames');
        const limits = this.limits;
        return this.serialise(channelId, async () => {
            const state = await this.state(channelId);
            if (input.clientRef && state.byRef.has(input.clientRef)) {
                const id = state.byRef.get(input.clientRef)!;
                const record = await readRecord(path.join(frames, `${id}.json`));
                if (record) return { id, receivedAt: record.receivedAt, duplicate: true, dropped: 0 };
            }
            const ms = Math.max(Date.now(), state.lastMs + 1);
            const id = idAt(ms);
            const record: FeedbackRecord = {
                format: 1,
                id,
                ...input,
                receivedAt: new Date(ms).toISOString(),
                bytes: image.length,
                width: size.width,
                height: size.height,
                sha256: createHash('sha256').update(image).digest('hex'),
            };
            await fs.mkdir(frames, { recursive: true, mode: 0o700 });
            await fs.mkdir(path.join(dir, '.tmp'), { recursive: true, mode: 0o700 });
            const tmpJpg = path.join(dir, '.tmp', `${id}.jpg`);
            const tmpJson = path.join(dir, '.tmp', `${id}.json`);
            const clean = async () => {
                await fs.rm(tmpJpg, { force: true }).catch(() => undefined);
                await fs.rm(tmpJson, { force: true }).catch(() => undefined);
            };
            try {  // written first: a full disk dropped older frames for one never stored
                await fs.writeFile(tmpJpg, image, { mode: 0o600, flag: 'wx' });
                await fs.writeFile(tmpJson, JSON.stringify(record), { mode: 0o600, flag: 'wx' });
            } catch (e) {
                await clean();
                throw e;
            }
            // then room, oldest first: the folder never holds more than the quota
            let dropped = 0;
            while (
                state.order.length > 0 &&
                (state.order.length + 1 > limits.maxPerChannel || state.totalBytes + image.length > limits.maxBytesPerChannel)
            ) {
                await this.forget(state, frames, state.order[0]);
                dropped++;
            }
            try {
                await fs.rename(tmpJpg, path.join(frames, `${id}.jpg`));
                await fs.rename(tmpJson, path.join(frames, `${id}.json`)); // the commit point
            } catch (e) {
                await clean();
                await removeFrame(frames, id).catch(() => undefined);
                throw e;
            }
            state.lastMs = ms;
            state.order.push(id);
            state.entries.set(id, { bytes: image.length, clientRef: input.clientRef });
            if (input.clientRef) state.byRef.set(input.clientRef, id);
            state.totalBytes += image.length;
            count(state.stats, record);
            await writeAtomically(path.join(dir, STATS_FILE), path.join(dir, '.tmp'), JSON.stringify({ format: 1, versions: state.stats }));
            return { id, receivedAt: record.receivedAt, duplicate: false, dropped };
        });
    }

    private async forget(state: ChannelState, frames: string, id: string): Promise<void> {
        await removeFrame(frames, id);
        const entry = state.entries.get(id);
        state.order = state.order.filter(x => x !== id);
        state.entries.delete(id);
        if (entry) {
            state.totalBytes -= entry.bytes;
            if (entry.clientRef && state.byRef.get(entry.clientRef) === id) state.byRef.delete(entry.clientRef);
        }
    }

    /** Frames after `after` (an id; null: from the oldest kept), oldest first. */
    async list(channelId: string, after: string | null, take: number): Promise<FeedbackPage> {
        const frames = path.join(this.channelDir(channelId), 'frames');
        const state = await this.state(channelId);
        const newer = after === null ? state.order.slice() : state.order.filter(id => id > after);
        const records: FeedbackRecord[] = [];
        let i = 0;
        for (; i < newer.length && records.length < take; i++) {
            const record = await readRecord(path.join(frames, `${newer[i]}.json`));
            if (record) records.push(record); // null: dropped by the quota meanwhile
        }
        const hasMore = i < newer.length;
        return {
            records,
            totalItems: newer.length,
            hasMore,
            nextCursor: records.length ? records[records.length - 1].id : after,
        };
    }

    /** The frame's file, or null when this channel has no such frame. */
    async imageFile(channelId: string, id: string): Promise<string | null> {
        if (!isFeedbackId(id)) return null;
        const state = await this.state(channelId);
        if (!state.entries.has(id)) return null;
        return path.join(this.channelDir(channelId), 'frames', `${id}.jpg`);
    }

    /** Deletes the given frames (or all of the channel's); the statistics stay. */
    async delete(channelId: string, ids: string[] | 'all'): Promise<number> {
        const frames = path.join(this.channelDir(channelId), 'frames');
        return this.serialise(channelId, async () => {
            const state = await this.state(channelId);
            const doomed = ids === 'all' ? state.order.slice() : [...new Set(ids)].filter(id => state.entries.has(id));
            for (const id of doomed) await this.forget(state, frames, id);
            return doomed.length;
        });
    }

    /** Removes everything of a channel: frames and statistics (the channel was deleted). */
    async removeChannel(channelId: string): Promise<void> {
        const dir = this.channelDir(channelId);
        await this.serialise(channelId, async () => {
            this.states.delete(channelId);
            await fs.rm(dir, { recursive: true, force: true });
        });
    }

    /**
     * Counters per served version over whole UTC hours, from `since`'s hour on (all when
     * null); the version seen most recently first. A whole UTC day kept by an earlier
     * plugin counts when `since` falls on it or before.
     */
    async stats(channelId: string, since: Date | null): Promise<VersionStats[]> {
        const state = await this.state(channelId);
        const fromHour = since ? since.toISOString().slice(0, 13) : '';
        const fromDay = fromHour.slice(0, 10);
        const out: VersionStats[] = [];
        for (const [modelVersion, days] of Object.entries(state.stats)) {
            const s = { photos: 0, top1: 0, top3: 0, confidenceSum: 0, corrections: 0, first: '', last: '' };
            for (const [key, b] of Object.entries(days)) {
                if (key.length === 10 ? key < fromDay : key < fromHour) continue;
                s.photos += b.photos;
                s.top1 += b.top1;
                s.top3 += b.top3;
                s.confidenceSum += b.confidenceSum;
                s.corrections += b.corrections;
                if (!s.first || b.first < s.first) s.first = b.first;
                if (b.last > s.last) s.last = b.last;
            }
            if (!s.photos) continue;
            out.push({
                modelVersion,
                photos: s.photos,
                top1Right: s.top1,
                top3Right: s.top3,
                averageConfidence: s.confidenceSum / s.photos,
                corrections: s.corrections,
                firstAt: s.first,
                lastAt: s.last,
            });
        }
        return out.sort((a, b) => (a.lastAt < b.lastAt ? 1 : a.lastAt > b.lastAt ? -1 : 0));
    }
}

function count(table: StatsTable, r: FeedbackRecord): void {
    const hour = r.receivedAt.slice(0, 13);
    const hours = (table[r.modelVersion] ??= keyed());
    const b = (hours[hour] ??= { photos: 0, top1: 0, top3: 0, confidenceSum: 0, corrections: 0, first: r.receivedAt, last: r.receivedAt });
    const top = r.predictions[0];
    const top1 = top?.productId === r.productId;
    b.photos++;
    if (top1) b.top1++;
    if (r.predictions.slice(0, 3).some(p => p.productId === r.productId)) b.top3++;
    if (!top1) b.corrections++;
    b.confidenceSum += top?.probability ?? 0;
    b.last = r.receivedAt;
    // bounded: past MAX_STAT_BUCKETS the smallest buckets go, the oldest of them first
    const all = Object.entries(table).flatMap(([v, d]) =>
        Object.entries(d).map(([k, bucket]) => [k, v, bucket.photos] as const),
    );
    if (all.length > MAX_STAT_BUCKETS) {
        all.sort((a, z) => a[2] - z[2] || (a[0] < z[0] ? -1 : a[0] > z[0] ? 1 : 0));
        for (const [k, v] of all.slice(0, all.length - MAX_STAT_BUCKETS)) {
            delete table[v][k];
            if (!Object.keys(table[v]).length) delete table[v];
        }
    }
}

async function readRecord(file: string): Promise<FeedbackRecord | null> {
    try {
        const parsed = JSON.parse(await fs.readFile(file, 'utf8'));
        return parsed && parsed.format === 1 && typeof parsed.id === 'string' ? (parsed as FeedbackRecord) : null;
    } catch (e) {
        if (isMissing(e) || e instanceof SyntaxError) return null;
        throw e;
    }
}

/** The record goes first: a frame without a record is never listed. */
async function removeFrame(frames: string, id: string): Promise<void> {
    await fs.rm(path.join(frames, `${id}.json`), { force: true });
    await fs.rm(path.join(frames, `${id}.jpg`), { force: true });
}

async function writeAtomically(file: string, tmpDir: string, text: string): Promise<void> {
    const tmp = path.join(tmpDir, `${path.basename(file)}.${randomBytes(4).toString('hex')}`);
    try {
        await fs.writeFile(tmp, text, { mode: 0o600, flag: 'wx' });
        await fs.rename(tmp, file);
    } catch (e) {
        await fs.rm(tmp, { force: true }).catch(() => undefined);
        throw e;
    }
}
