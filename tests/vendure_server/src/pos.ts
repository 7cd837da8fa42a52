/**
 * A stand-in POS for tests/core/shop/test_feedback.py: logs in as a cashier and sends
 * frames exactly as the plugin README's recipe does — the recipe's own code
 * (packaging/vendure-plugin/pos/recognition-feedback.ts), with sharp doing what the
 * browser's canvas does there (centre square, scaled to the model's input size, JPEG).
 *
 * Reads one JSON job on stdin, writes one JSON result on stdout:
 *   { adminApiUrl, username, password, channelToken, imageSize,
 *     mode: "send" | "offline-queue", queueSize?,
 *     frames: [{ file, raw?, line }] }          raw: send the file's bytes as they are
 */
import { createHash } from 'crypto';
import { readFileSync } from 'fs';

import sharp from 'sharp';

import {
    FeedbackError,
    FeedbackQueue,
    FeedbackTarget,
    SaleLineFeedback,
    sendRecognitionFeedback,
} from '../../../packaging/vendure-plugin/pos/recognition-feedback';

interface Job {
    adminApiUrl: string;
    username: string;
    password: string;
    channelToken: string;
    imageSize: number;
    mode: 'send' | 'offline-queue';
    queueSize?: number;
    frames: Array<{ file: string; raw?: boolean; line: SaleLineFeedback }>;
}

async function login(job: Job): Promise<string> {
    const res = await fetch(job.adminApiUrl, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({
            query: 'mutation($u:String!,$p:String!){login(username:$u,password:$p){__typename}}',
            variables: { u: job.username, p: job.password },
        }),
    });
    const token = res.headers.get('vendure-auth-token');
    const body = (await res.json()) as any;
    if (!token || body?.data?.login?.__typename !== 'CurrentUser') throw new Error(`login failed: ${JSON.stringify(body)}`);
    return token;
}

/** What the recipe's frameToJpeg does in the browser: centre square, imageSize², JPEG 0.9. */
async function frame(file: string, imageSize: number, raw: boolean): Promise<Buffer> {
    if (raw) return readFileSync(file);
    // upright as a browser draws a photo (EXIF orientation applied), bilinear as a canvas
    return sharp(file)
        .rotate()
        .resize(imageSize, imageSize, { fit: 'cover', position: 'centre', kernel: 'linear' })
        .jpeg({ quality: 90 })
        .toBuffer();
}

function outcome(e: unknown) {
    if (e instanceof FeedbackError) return { ok: false, code: e.code, reason: e.reason ?? null, retryAfterSeconds: e.retryAfterSeconds ?? null };
    return { ok: false, code: 'NETWORK', reason: String((e as Error)?.message ?? e) };
}

async function main(): Promise<void> {
    const job = JSON.parse(readFileSync(0, 'utf8')) as Job;
    const target: FeedbackTarget = { adminApiUrl: job.adminApiUrl, authToken: await login(job), channelToken: job.channelToken };
    const frames = await Promise.all(job.frames.map(f => frame(f.file, job.imageSize, !!f.raw)));
    const sent = frames.map(b => ({ bytes: b.length, sha256: createHash('sha256').update(b).digest('hex') }));
    if (job.mode === 'send') {
        const results = [];
        for (const [i, f] of job.frames.entries()) {
            try {
                const receipt = await sendRecognitionFeedback(target, new Blob([frames[i]], { type: 'image/jpeg' }), f.line);
                results.push({ ok: true, receipt, ...sent[i] });
            } catch (e) {
                results.push({ ...outcome(e), ...sent[i] });
            }
        }
        process.stdout.write(JSON.stringify({ results }));
        return;
    }
    // offline-queue: the till is offline while the frames are confirmed, then comes back;
    // the first answer after that is lost on the way, so that frame is sent twice
    const queue = new FeedbackQueue(job.queueSize ?? 20);
    const offline = { ...target, adminApiUrl: 'http://127.0.0.1:9/admin-api' };
    const flushes = [];
    for (const [i, f] of job.frames.entries()) {
        queue.push(new Blob([frames[i]], { type: 'image/jpeg' }), f.line);
        const r = await queue.flush(offline);
        flushes.push({ sent: r.sent, left: r.left, stopped: outcome(r.stoppedBy) });
    }
    let lose = true;
    const losing: typeof fetch = async (input, init) => {
        const res = await fetch(input, init);
        if (lose) {
            lose = false;
            throw new TypeError('connection reset after the server answered');
        }
        return res;
    };
    const lost = await queue.flush(target, losing);
    flushes.push({ sent: lost.sent, left: lost.left, stopped: outcome(lost.stoppedBy) });
    const back = await queue.flush(target);
    flushes.push({ sent: back.sent, left: back.left, stopped: back.stoppedBy ? outcome(back.stoppedBy) : null });
    process.stdout.write(JSON.stringify({ flushes, droppedOldest: queue.droppedOldest, sent }));
}

main().catch(e => {
    console.error(e);
    process.exit(1);
});
