/**
 * The POS side of recognition feedback, to copy into the Dukahub POS (see the plugin
 * README, "Sending what the cashier chose"). Uses only `fetch`, `FormData` and `Blob`,
 * so it runs in browsers and in Node 18+; tests/vendure_server/src/pos.ts runs this very
 * file against the real server.
 *
 * After a sale line is confirmed: make the frame the model saw (centre square, scaled to
 * metadata.imageSize, JPEG), `queue.push(frame, line)`, then `queue.flush(target)`
 * without awaiting it — the sale never waits for this, and frames sent while offline
 * wait in the queue (the oldest dropped when it is full).
 */

export const SUBMIT_RECOGNITION_FEEDBACK = `mutation ($image: Upload!, $input: RecognitionFeedbackInput!) {
  submitRecognitionFeedback(image: $image, input: $input) { id receivedAt duplicate }
}`;

export interface FeedbackTarget {
    /** The Admin API, e.g. `https://shop.example/admin-api`. */
    adminApiUrl: string;
    /** The cashier's session token (the `vendure-auth-token` of the login); leave it out when the POS uses cookies. */
    authToken?: string;
    /** The channel's token (the `vendure-token` header the POS sends anyway). */
    channelToken: string;
}

export interface SaleLineFeedback {
    /** The product the cashier confirmed. */
    productId: string;
    /** The served version: the `X-Ml-Model-Version` header of the metadata.json the model came with. */
    modelVersion: string;
    /** The model's top three (`metadata.labels[i]` and its probability). */
    predictions: Array<{ productId: string; probability: number }>;
    /** One per frame (e.g. `crypto.randomUUID()`): a retry after a lost answer is stored once. */
    clientRef?: string;
}

export interface FeedbackReceipt {
    id: string;
    receivedAt: string;
    duplicate: boolean;
}

export class FeedbackError extends Error {
    constructor(
        message: string,
        /** `extensions.code`: RECOGNITION_FEEDBACK_REJECTED, RECOGNITION_FEEDBACK_RATE_LIMITED, FORBIDDEN, HTTP_<status>… */
        readonly code: string,
        /** For RECOGNITION_FEEDBACK_REJECTED: NOT_JPEG, TOO_LARGE, UNKNOWN_PRODUCT, … */
        readonly reason?: string,
        readonly retryAfterSeconds?: number,
    ) {
        super(message);
    }

    /** Sending this frame again cannot succeed: drop it. */
    get permanent(): boolean {
        return this.code === 'RECOGNITION_FEEDBACK_REJECTED';
    }
}

/** One frame. Network failures throw the fetch error; refusals a FeedbackError. */
export async function sendRecognitionFeedback(
    target: FeedbackTarget,
    frame: Blob,
    line: SaleLineFeedback,
    fetchImpl: typeof fetch = fetch,
): Promise<FeedbackReceipt> {
    // the GraphQL multipart request: operations, map, then the file
    const form = new FormData();
    form.append('operations', JSON.stringify({ query: SUBMIT_RECOGNITION_FEEDBACK, variables: { image: null, input: line } }));
    form.append('map', JSON.stringify({ 0: ['variables.image'] }));
    form.append('0', frame, 'frame.jpg');
    const headers: Record<string, string> = {
        'vendure-token': target.channelToken,
        'apollo-require-preflight': 'true', // Apollo's CSRF guard refuses multipart requests without it
    };
    if (target.authToken) headers.Authorization = `Bearer ${target.authToken}`;
    const res = await fetchImpl(target.adminApiUrl, {
        method: 'POST',
        body: form,
        headers,
        credentials: target.authToken ? 'omit' : 'include',
    });
    const payload = (await res.json().catch(() => null)) as {
        data?: { submitRecognitionFeedback?: FeedbackReceipt } | null;
        errors?: Array<{ message?: string; extensions?: { code?: string; reason?: string; retryAfterSeconds?: number } }>;
    } | null;
    const error = payload?.errors?.[0];
    if (error) {
        const ext = error.extensions ?? {};
        throw new FeedbackError(error.message ?? 'refused', ext.code ?? 'UNKNOWN', ext.reason, ext.retryAfterSeconds);
    }
    const receipt = payload?.data?.submitRecognitionFeedback;
    if (!res.ok || !receipt) throw new FeedbackError(`HTTP ${res.status}`, `HTTP_${res.status}`);
    return receipt;
}

export interface FlushResult {
    sent: number;
    /** Refused for good (FeedbackError.permanent) and dropped. */
    refused: number;
    /** Still queued: the flush stopped at one that cannot go now. */
    left: number;
    /** Why it stopped early (offline, rate limit, logged out), if it did. */
    stoppedBy?: unknown;
}

/**
 * Frames waiting to be sent, at most `max`: when full, the oldest is dropped — recent
 * frames are worth more, and a POS that stays offline must not fill the browser's storage.
 * Kept in memory; a POS that wants them to survive a reload stores `frame` and `line`
 * in IndexedDB the same way.
 */
export class FeedbackQueue {
    private items: Array<{ frame: Blob; line: SaleLineFeedback }> = [];
    private running: Promise<FlushResult> | null = null;
    /** Frames dropped because the queue was full, since it was made. */
    droppedOldest = 0;

    constructor(readonly max = 20) {}

    get size(): number {
        return this.items.length;
    }

    push(frame: Blob, line: SaleLineFeedback): void {
        this.items.push({ frame, line: { ...line, clientRef: line.clientRef ?? newRef() } });
        while (this.items.length > this.max) {
            this.items.shift();
            this.droppedOldest++;
        }
    }

    /** Sends the queued frames oldest first; one flush at a time (a second call joins the first). */
    flush(target: FeedbackTarget, fetchImpl: typeof fetch = fetch): Promise<FlushResult> {
        this.running ??= this.drain(target, fetchImpl).finally(() => {
            this.running = null;
        });
        return this.running;
    }

    private async drain(target: FeedbackTarget, fetchImpl: typeof fetch): Promise<FlushResult> {
        const result: FlushResult = { sent: 0, refused: 0, left: 0 };
        while (this.items.length) {
            const next = this.items[0];
            try {
                await sendRecognitionFeedback(target, next.frame, next.line, fetchImpl);
                result.sent++;
            } catch (e) {
                if (!(e instanceof FeedbackError && e.permanent)) {
                    result.stoppedBy = e; // offline, rate-limited or logged out: keep it for later
                    break;
                }
                result.refused++;
            }
            if (this.items[0] === next) this.items.shift();
        }
        result.left = this.items.length;
        return result;
    }
}

function newRef(): string {
    const c = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto;
    return c?.randomUUID ? c.randomUUID() : `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 12)}`;
}
