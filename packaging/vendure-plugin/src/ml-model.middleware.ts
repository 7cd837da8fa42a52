/**
 * Serves `/<assets>/ml-models/<channelId>/latest/<file>` and nothing else under ml-models.
 *
 * Mounted on the asset server's own route, ahead of it, because the AssetServerPlugin
 * would otherwise serve every file under ml-models/ (the .versions and temp folders
 * too) with a 180-day max-age, which is wrong for a file that changes on each publish.
 * The path is decoded and normalised exactly like the asset server does, so encoded
 * variants (`ml%2Dmodels`, `..`) cannot reach those folders through it either.
 */
import { createHash } from 'crypto';
import { promises as fs } from 'fs';
import * as path from 'path';

import { ModelStorage } from './ml-model-storage';

type Req = { method: string; path: string; headers: Record<string, string | string[] | undefined> };
type Res = {
    status(code: number): Res;
    setHeader(name: string, value: string): void;
    end(body?: Buffer | string): void;
};

const CONTENT_TYPES: Record<string, string> = {
    'model.json': 'application/json',
    'metadata.json': 'application/json',
    'weights.bin': 'application/octet-stream',
};

/** Versions are immutable, so an ETag computed once per (version, file) stays valid. */
const etags = new Map<string, string>();

export function createModelFileHandler(storage: ModelStorage) {
    return async function mlModelFiles(req: Req, res: Res, next: (err?: unknown) => void): Promise<void> {
        let decoded: string;
        try {
            decoded = decodeURIComponent(req.path);
        } catch {
            decoded = req.path;
        }
        const parts = path.posix.normalize('/' + decoded).split('/').filter(Boolean);
        if (parts[0]?.toLowerCase() !== 'ml-models') {
            next();
            return;
        }
        res.setHeader('Cache-Control', 'no-cache');
        res.setHeader('X-Content-Type-Options', 'nosniff');
        res.setHeader('Access-Control-Allow-Origin', '*');
        const notFound = () => {
            res.status(404);
            res.setHeader('Content-Type', 'text/plain; charset=utf-8');
            res.end('Not found');
        };
        if (req.method !== 'GET' && req.method !== 'HEAD') {
            notFound();
            return;
        }
        if (parts.length !== 4 || parts[2] !== 'latest') {
            notFound();
            return;
        }
        try {
            const found = await storage.resolveLatest(parts[1], parts[3]);
            if (!found) {
                notFound();
                return;
            }
            const data = await fs.readFile(found.path).catch(() => null);
            if (!data) {
                notFound();
                return;
            }
            const key = `${parts[1]}/${found.version}/${parts[3]}`;
            let etag = etags.get(key);
            if (!etag) {
                etag = `"${createHash('sha256').update(data).digest('base64url').slice(0, 32)}"`;
                etags.set(key, etag);
            }
            res.setHeader('ETag', etag);
            res.setHeader('X-Ml-Model-Version', found.version);
            const inm = req.headers['if-none-match'];
            const tags = (Array.isArray(inm) ? inm.join(',') : inm ?? '').split(',').map(t => t.trim());
            if (tags.includes(etag) || tags.includes('*')) {
                res.status(304);
                res.end();
                return;
            }
            res.status(200);
            res.setHeader('Content-Type', CONTENT_TYPES[parts[3]]);
            res.setHeader('Content-Length', String(data.length));
            res.end(req.method === 'HEAD' ? undefined : data);
        } catch (e) {
            next(e);
        }
    };
}
