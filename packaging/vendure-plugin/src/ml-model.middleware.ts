/**
 * Serves, under `/<assets>/ml-models/<channelId>/`, exactly
 *   latest/<file>            the served version, `Cache-Control: no-cache` + ETag
 *   v/<version>/<file>       any kept version, cached for a year (`immutable`)
 * for <file> in model.json, weights.bin, metadata.json — and nothing else under ml-models.
 *
 * Mounted on the asset server's own route, ahead of it, because the AssetServerPlugin
 * would otherwise serve every file under ml-models/ (the .versions and temp folders
 * too) with a 180-day max-age. The path is decoded once like the asset server does and
 * split on both `/` and `\` (Windows joins paths on either), so encoded variants
 * (`ml%2Dmodels`, `..`, `%5C`) cannot reach those folders through it either; and a path
 * that the asset server's own clean-up would turn into one under ml-models
 * (`...%5C.%5Cml-models/…`: it strips `..\` until none is left) is ours too.
 *
 * `If-None-Match` is answered from the ETag stored at publish time, without opening the
 * file; bodies are streamed, so a request costs a 64 KiB buffer, never the whole file.
 */
import { randomBytes } from 'crypto';
import { promises as fs } from 'fs';
import { IncomingMessage, ServerResponse } from 'http';
import * as path from 'path';
import { pipeline } from 'stream/promises';

import { ModelStorage, ServedFile } from './ml-model-storage';

type Req = IncomingMessage & { path: string; method: string };
type Res = ServerResponse;

const CONTENT_TYPES: Record<string, string> = {
    'model.json': 'application/json',
    'metadata.json': 'application/json',
    'weights.bin': 'application/octet-stream',
};

const IMMUTABLE = 'public, max-age=31536000, immutable';
const ALLOWED_METHODS = 'GET, HEAD, OPTIONS';
/** Headers a browser POS on another origin may read from our answers. */
const EXPOSED = 'ETag, X-Ml-Model-Version, Content-Length';

/**
 * A path segment as Windows would resolve it: case-insensitive, trailing dots and
 * spaces dropped, an `::$DATA`-style stream suffix ignored.
 */
function windowsName(segment: string): string {
    return segment.split(':')[0].replace(/[. ]+$/, '').toLowerCase();
}

function isModelsSegment(segment: string | undefined): boolean {
    if (segment === undefined) return false;
    const name = windowsName(segment);
    return name === 'ml-models' || /^ml-mod~\d+$/.test(name); // the 8.3 short name too
}

/**
 * The file the AssetServerPlugin would read for `decoded`: its `sanitizeFilePath` (normalise,
 * then strip `../` and `..\` until none is left) joined onto its upload folder, as its
 * local storage does. Kept in step with @vendure/asset-server-plugin 3.7.
 */
function assetServerFile(uploadDir: string, decoded: string): string {
    let cleaned = path.normalize(decoded);
    let previous: string;
    do {
        previous = cleaned;
        cleaned = previous.replace(/(\.\.[\\/])+/g, '');
    } while (cleaned !== previous);
    return path.join(uploadDir, cleaned);
}

/** Whether the asset server would read `decoded` from inside the models folder. */
function reachesModels(storage: ModelStorage, decoded: string): boolean {
    const uploadDir = path.dirname(storage.root);
    const rel = path.relative(uploadDir, assetServerFile(uploadDir, decoded));
    return isModelsSegment(rel.split(/[\\/]/)[0]);
}

export function createModelFileHandler(storage: ModelStorage, logError: (message: string) => void) {
    return async function mlModelFiles(req: Req, res: Res, next: (err?: unknown) => void): Promise<void> {
        let decoded: string;
        try {
            decoded = decodeURIComponent(req.path);
        } catch {
            decoded = req.path;
        }
        const parts = path.posix.normalize('/' + decoded.replace(/\\/g, '/')).split('/').filter(Boolean);
        if (!isModelsSegment(parts[0]) && !reachesModels(storage, decoded)) {
            next();
            return;
        }
        res.setHeader('X-Content-Type-Options', 'nosniff');
        res.setHeader('Access-Control-Allow-Origin', '*');
        res.setHeader('Access-Control-Expose-Headers', EXPOSED);
        const plain = (status: number, text: string) => {
            res.statusCode = status;
            res.removeHeader('ETag');
            res.removeHeader('X-Ml-Model-Version');
            res.setHeader('Cache-Control', 'no-cache');
            res.setHeader('Content-Type', 'text/plain; charset=utf-8');
            res.end(text);
        };
        // exactly ml-models/<channel>/latest/<file> or ml-models/<channel>/v/<version>/<file>
        const exact = !decoded.includes('\\') && parts[0] === 'ml-models';
        const latest = exact && parts.length === 4 && parts[2] === 'latest';
        const pinned = exact && parts.length === 5 && parts[2] === 'v';
        if (!latest && !pinned) {
            plain(404, 'Not found');
            return;
        }
        const channelId = parts[1];
        const pinnedVersion = latest ? null : parts[3];
        const file = parts[parts.length - 1];
        try {
            if (req.method === 'OPTIONS') {
                // CORS preflight (a POS sending If-None-Match from another origin)
                if (!(await storage.resolve(channelId, pinnedVersion, file))) {
                    plain(404, 'Not found');
                    return;
                }
                const asked = String(req.headers['access-control-request-headers'] ?? '');
                res.statusCode = 204;
                res.setHeader('Access-Control-Allow-Methods', ALLOWED_METHODS);
                if (/^[A-Za-z0-9!#$%&'*+.^_`|~, -]*$/.test(asked) && asked.trim()) {
                    res.setHeader('Access-Control-Allow-Headers', asked);
                }
                res.setHeader('Access-Control-Max-Age', '86400');
                res.setHeader('Content-Length', '0');
                res.end();
                return;
            }
            if (req.method !== 'GET' && req.method !== 'HEAD') {
                res.setHeader('Allow', ALLOWED_METHODS);
                plain(405, 'Method not allowed');
                return;
            }
            // the version may be pruned between resolving and opening: resolve once more
            for (let attempt = 0; attempt < 2; attempt++) {
                const found = await storage.resolve(channelId, pinnedVersion, file);
                if (!found) break;
                if (await send(req, res, found, file)) return;
            }
            plain(404, 'Not found');
        } catch (e: any) {
            const ref = randomBytes(4).toString('hex');
            logError(`ML model file request ${req.path} failed (reference ${ref}): ${String(e?.stack ?? e)}`);
            if (res.headersSent) {
                res.destroy();
            } else {
                plain(500, `Internal server error (reference ${ref}).`);
            }
        }
    };
}

/** Answers with `found`; false if its file has disappeared meanwhile (nothing was sent). */
async function send(req: Req, res: Res, found: ServedFile, file: string): Promise<boolean> {
    res.setHeader('Cache-Control', found.immutable ? IMMUTABLE : 'no-cache');
    res.setHeader('ETag', found.etag);
    res.setHeader('X-Ml-Model-Version', found.version);
    const inm = req.headers['if-none-match'];
    const tags = (Array.isArray(inm) ? inm.join(',') : inm ?? '').split(',').map(t => t.trim().replace(/^W\//, ''));
    if (tags.includes(found.etag) || tags.includes('*')) {
        res.statusCode = 304;
        res.end();
        return true;
    }
    const fh = await fs.open(found.path, 'r').catch((e: NodeJS.ErrnoException) => {
        if (e.code === 'ENOENT') return null;
        throw e;
    });
    if (!fh) return false;
    let handedOver = false;
    try {
        const st = await fh.stat();
        if (!st.isFile()) return false;
        res.statusCode = 200;
        res.setHeader('Content-Type', CONTENT_TYPES[file]);
        res.setHeader('Content-Length', String(st.size));
        if (req.method === 'HEAD') {
            res.end();
            return true;
        }
        handedOver = true;
        await pipeline(fh.createReadStream(), res).catch((e: NodeJS.ErrnoException) => {
            // the client went away: nothing to report
            if (e?.code !== 'ERR_STREAM_PREMATURE_CLOSE' && !res.destroyed) throw e;
        });
        return true;
    } finally {
        if (!handedOver) await fh.close();
    }
}
