/**
 * Recognition feedback: the POS sends, after a sale line is confirmed, the camera frame,
 * the product the cashier chose, the served model version and the model's top three
 * (`submitRecognitionFeedback`, permission SubmitRecognitionFeedback); the trainer reads
 * them back (`recognitionFeedback`, `recognitionFeedbackStats`, the image route, all
 * UploadMlModel). Frames are private: stored outside the asset folder and only ever
 * sent by the authorised image route.
 *
 * Admin API, not Shop API: Dukahub cashiers log in as Vendure administrators whose roles
 * hold channel-scoped permissions, and only the Admin API checks those; the Shop API's
 * callers are customers and anonymous sessions, which must never be able to upload.
 */
import { randomBytes } from 'crypto';
import { promises as fs, realpathSync } from 'fs';
import { ServerResponse } from 'http';
import * as path from 'path';
import { Readable } from 'stream';
import { pipeline } from 'stream/promises';

import { Controller, Get, Param, Res } from '@nestjs/common';
import { Args, Mutation, Query, Resolver } from '@nestjs/graphql';
import { Allow, ConfigService, Ctx, ID, Logger, ProductService, RequestContext } from '@vendure/core';
import { GraphQLError } from 'graphql';
import gql from 'graphql-tag';

import { isSystemError } from './ml-model-storage';
import { submitRecognitionFeedbackPermission, uploadMlModelPermission } from './permissions';
import {
    checkSubmission,
    FeedbackLimits,
    FeedbackRecord,
    FeedbackRejected,
    FeedbackStorage,
    inspectJpeg,
    isFeedbackId,
} from './recognition-feedback-storage';

export interface RecognitionFeedbackOptions {
    /**
     * Where frames are stored, one folder per channel. Default: `ml-feedback` beside the
     * asset folder (`<assetUploadDir>/../ml-feedback`). It must not be inside the asset
     * folder, nor contain it: the server refuses to start otherwise.
     */
    dir?: string;
    /** Largest frame in bytes (default 1 MiB; never more than `assetOptions.uploadMaxFileSize`). */
    maxImageBytes?: number;
    /** Smallest and largest width/height in pixels (defaults 32 and 4096). */
    minImageSide?: number;
    maxImageSide?: number;
    /** Quota per channel, oldest frames dropped first (defaults 2000 frames, 256 MiB). */
    maxPerChannel?: number;
    maxBytesPerChannel?: number;
    /** Submissions per login session (default 30 per 60 s); refused ones count too. */
    rateLimit?: { count: number; windowSeconds: number };
}

export type ResolvedFeedbackOptions = FeedbackLimits & { dir: string; rateLimit: { count: number; windowSeconds: number } };

/** The image route, `/<FEEDBACK_ROUTE>/images/<id>`, beside the APIs. */
export const FEEDBACK_ROUTE = 'ml-feedback';
export const FEEDBACK_REJECTED = 'RECOGNITION_FEEDBACK_REJECTED';
export const FEEDBACK_RATE_LIMITED = 'RECOGNITION_FEEDBACK_RATE_LIMITED';
export const FEEDBACK_SERVER_ERROR = 'RECOGNITION_FEEDBACK_SERVER_ERROR';
const MAX_TAKE = 100;
const MAX_DELETE_IDS = 1000;
const loggerCtx = 'MlModelPlugin';

export const feedbackSchema = gql`
    type RecognitionPrediction {
        productId: ID!
        probability: Float!
    }
    type RecognitionFeedback {
        "Sortable by age; the cursor of recognitionFeedback(after:)."
        id: String!
        "The product the cashier chose."
        productId: ID!
        "Its name now; null when it is no longer a product of this channel."
        productName: String
        "The model's top three as the POS sent them, highest probability first."
        predictions: [RecognitionPrediction!]!
        predictedProductId: ID
        "The top-1 probability."
        confidence: Float
        top1Right: Boolean!
        top3Right: Boolean!
        modelVersion: String!
        receivedAt: DateTime!
        "Relative to the server address (where admin-api is); GET it with the same Authorization and vendure-token headers (UploadMlModel)."
        imagePath: String!
        imageBytes: Int!
        "Of the JPEG's bytes, lower-case hex: the download can be checked, and the same frame recognised."
        sha256: String!
        width: Int!
        height: Int!
    }
    type RecognitionFeedbackList {
        items: [RecognitionFeedback!]!
        "Frames after the cursor, this page included."
        totalItems: Int!
        hasMore: Boolean!
        "Pass as after: to read on (the cursor itself when there is nothing new)."
        nextCursor: String
    }
    type RecognitionFeedbackStats {
        modelVersion: String!
        photos: Int!
        top1Right: Int!
        top3Right: Int!
        averageConfidence: Float
        "Frames whose chosen product is not the model's top-1."
        corrections: Int!
        firstAt: DateTime!
        lastAt: DateTime!
    }
    type RecognitionFeedbackReceipt {
        id: String!
        receivedAt: DateTime!
        "true when a frame with this clientRef was already stored (nothing new stored)."
        duplicate: Boolean!
    }
    input RecognitionPredictionInput {
        productId: ID!
        probability: Float!
    }
    input RecognitionFeedbackInput {
        "The product the cashier confirmed; must be a product of the active channel."
        productId: ID!
        "The served model version (the X-Ml-Model-Version header of metadata.json)."
        modelVersion: String!
        "The model's top one to three, any order."
        predictions: [RecognitionPredictionInput!]!
        "Optional id made by the POS per frame, so a retry after a lost answer is stored once."
        clientRef: String
    }
    extend type Query {
        "Frames of the active channel after the cursor, oldest first (take: 1-100, default 50)."
        recognitionFeedback(after: String, take: Int): RecognitionFeedbackList!
        "Per served model version, over whole UTC hours from since's hour (all when null)."
        recognitionFeedbackStats(since: DateTime): [RecognitionFeedbackStats!]!
    }
    extend type Mutation {
        "The POS, after a sale line is confirmed: one JPEG frame and what the model said."
        submitRecognitionFeedback(image: Upload!, input: RecognitionFeedbackInput!): RecognitionFeedbackReceipt!
        "Deletes frames of the active channel (ids, or all: true); statistics stay. Returns how many."
        deleteRecognitionFeedback(ids: [String!], all: Boolean): Int!
    }
`;

interface FileUpload {
    filename: string;
    mimetype: string;
    createReadStream(): Readable;
}

/** Set by the plugin's configuration hook (like the model storage). */
export class FeedbackState {
    static options: ResolvedFeedbackOptions;
    static storage: FeedbackStorage;
    static limiter: RateLimiter;
}

/** Sliding-window limit per key (a login session). */
export class RateLimiter {
    private readonly hits = new Map<string, number[]>();

    constructor(
        private readonly count: number,
        private readonly windowMs: number,
    ) {}

    /** Records an attempt; returns null if allowed, else the seconds until the next one is. */
    hit(key: string, now = Date.now()): number | null {
        const since = now - this.windowMs;
        const recent = (this.hits.get(key) ?? []).filter(t => t > since);
        if (recent.length >= this.count) {
            this.hits.set(key, recent);
            return Math.max(1, Math.ceil((recent[0] + this.windowMs - now) / 1000));
        }
        recent.push(now);
        this.hits.set(key, recent);
        if (this.hits.size > 10000) {
            for (const [k, times] of this.hits) if (!times.some(t => t > since)) this.hits.delete(k);
        }
        return null;
    }
}

function positive(name: string, value: unknown): number {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
        throw new Error(`MlModelPlugin: feedback.${name} must be a whole number of at least 1 (got ${String(value)}).`);
    }
    return value;
}

/** The nearest existing ancestor resolved through symlinks, with the rest appended. */
function realish(p: string): string {
    let head = path.resolve(p);
    const rest: string[] = [];
    for (;;) {
        try {
            return path.join(realpathSync.native(head), ...rest.slice().reverse());
        } catch {
            const parent = path.dirname(head);
            if (parent === head) return path.resolve(p);
            rest.push(path.basename(head));
            head = parent;
        }
    }
}

function within(child: string, parent: string): boolean {
    const fold = (s: string) => (process.platform === 'win32' || process.platform === 'darwin' ? s.toLowerCase() : s);
    const rel = path.relative(fold(realish(parent)), fold(realish(child)));
    return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** Fills in defaults and refuses options that would break privacy or cannot work. */
export function resolveFeedbackOptions(
    options: RecognitionFeedbackOptions | undefined,
    assetUploadDir: string,
    assetRoute: string,
    uploadMaxFileSize: number,
): ResolvedFeedbackOptions {
    const o = options ?? {};
    const dir = path.resolve(o.dir ?? path.join(path.dirname(path.resolve(assetUploadDir)), 'ml-feedback'));
    if (within(dir, assetUploadDir) || within(assetUploadDir, dir)) {
        throw new Error(
            `MlModelPlugin: feedback.dir "${dir}" must be outside the asset folder "${assetUploadDir}" (and not contain it): ` +
                'the AssetServerPlugin serves every file in that folder publicly, and frames from the till must never be public.',
        );
    }
    if (assetRoute === FEEDBACK_ROUTE) {
        throw new Error(`MlModelPlugin: the asset route must not be "${FEEDBACK_ROUTE}", the feedback image route.`);
    }
    const rate = o.rateLimit ?? { count: 30, windowSeconds: 60 };
    const resolved: ResolvedFeedbackOptions = {
        dir,
        maxImageBytes: Math.min(positive('maxImageBytes', o.maxImageBytes ?? 1024 * 1024), uploadMaxFileSize),
        minImageSide: positive('minImageSide', o.minImageSide ?? 32),
        maxImageSide: positive('maxImageSide', o.maxImageSide ?? 4096),
        maxPerChannel: positive('maxPerChannel', o.maxPerChannel ?? 2000),
        maxBytesPerChannel: positive('maxBytesPerChannel', o.maxBytesPerChannel ?? 256 * 1024 * 1024),
        rateLimit: { count: positive('rateLimit.count', rate.count), windowSeconds: positive('rateLimit.windowSeconds', rate.windowSeconds) },
    };
    if (resolved.minImageSide > resolved.maxImageSide) {
        throw new Error('MlModelPlugin: feedback.minImageSide is larger than feedback.maxImageSide.');
    }
    if (resolved.maxImageBytes > resolved.maxBytesPerChannel) {
        throw new Error('MlModelPlugin: feedback.maxImageBytes is larger than feedback.maxBytesPerChannel: no frame would fit.');
    }
    return resolved;
}

function encodedId(configService: ConfigService, id: ID): string {
    const strategy = configService.entityOptions.entityIdStrategy;
    return String(strategy ? strategy.encodeId(id as any) : id);
}

function logInternal(what: string, e: unknown): string {
    const ref = randomBytes(4).toString('hex');
    Logger.error(`${what} failed (reference ${ref}): ${String((e as Error)?.stack ?? e)}`, loggerCtx);
    return ref;
}

/** Refusals reach the client with their reason; server problems only as a logged reference. */
async function guard<T>(what: string, work: () => Promise<T>): Promise<T> {
    try {
        return await work();
    } catch (e) {
        if (e instanceof FeedbackRejected) {
            throw new GraphQLError(e.message, { extensions: { code: FEEDBACK_REJECTED, reason: e.reason } });
        }
        if (e instanceof GraphQLError && !isSystemError(e.originalError)) throw e;
        const ref = logInternal(what, e);
        throw new GraphQLError(
            `The server could not ${what} because of a problem on the server (reference ${ref}; the details are in the server's log).`,
            { extensions: { code: FEEDBACK_SERVER_ERROR, reference: ref } },
        );
    }
}

function uploadStatus(e: unknown): number | undefined {
    const err = e as { status?: unknown; statusCode?: unknown } | null;
    const status = err?.status ?? err?.statusCode;
    return typeof status === 'number' ? status : undefined;
}

/** The upload's bytes, refused past `max` without reading on. */
async function readImage(upload: Promise<FileUpload>, max: number): Promise<Buffer> {
    const tooLarge = () => new FeedbackRejected('TOO_LARGE', `The image is larger than the ${max} byte limit.`);
    const broken = (e: unknown): Error => {
        if (e instanceof FeedbackRejected || isSystemError(e)) return e as Error;
        if (uploadStatus(e) === 413) return tooLarge(); // over assetOptions.uploadMaxFileSize
        return new FeedbackRejected('UPLOAD_INCOMPLETE', 'The image upload did not complete.');
    };
    let file: FileUpload;
    try {
        file = await upload;
        if (!file || typeof file.createReadStream !== 'function') throw new Error('not a file');
    } catch (e) {
        throw broken(e);
    }
    const stream = file.createReadStream();
    const chunks: Buffer[] = [];
    let bytes = 0;
    try {
        for await (const chunk of stream) {
            bytes += (chunk as Buffer).length;
            if (bytes > max) throw tooLarge();
            chunks.push(chunk as Buffer);
        }
    } catch (e) {
        stream.destroy();
        throw broken(e);
    }
    return Buffer.concat(chunks, bytes);
}

function sessionKey(ctx: RequestContext): string {
    const session = ctx.session as { id?: ID; token?: string } | undefined;
    return String(session?.id ?? session?.token ?? `user:${String(ctx.activeUserId)}`);
}

@Resolver()
export class RecognitionFeedbackResolver {
    constructor(
        private readonly configService: ConfigService,
        private readonly productService: ProductService,
    ) {}

    private channelId(ctx: RequestContext): string {
        return encodedId(this.configService, ctx.channelId);
    }

    @Mutation()
    @Allow(submitRecognitionFeedbackPermission.Permission)
    async submitRecognitionFeedback(
        @Ctx() ctx: RequestContext,
        @Args() args: { image: Promise<FileUpload>; input: { productId: ID; modelVersion: string; predictions: unknown; clientRef?: string | null } },
    ) {
        const channelId = this.channelId(ctx);
        return guard('store the frame', async () => {
            // cheapest first: a flood is refused before any database or image work
            const wait = FeedbackState.limiter.hit(sessionKey(ctx));
            if (wait !== null) {
                throw new GraphQLError(
                    `Too many frames from this session: at most ${FeedbackState.options.rateLimit.count} per ` +
                        `${FeedbackState.options.rateLimit.windowSeconds} s. Try again in ${wait} s.`,
                    { extensions: { code: FEEDBACK_RATE_LIMITED, retryAfterSeconds: wait } },
                );
            }
            const input = checkSubmission(args.input);
            const product = await this.productService.findOne(ctx, args.input.productId, []);
            if (!product) {
                throw new FeedbackRejected(
                    'UNKNOWN_PRODUCT',
                    `Product ${input.productId} is not a product of this channel (unknown, deleted, or another channel's).`,
                );
            }
            const image = await readImage(args.image, FeedbackState.options.maxImageBytes);
            const size = inspectJpeg(image, FeedbackState.options);
            const userId = ctx.activeUserId === undefined ? null : String(ctx.activeUserId);
            return FeedbackState.storage.submit(channelId, { ...input, userId }, image, size);
        });
    }

    @Query()
    @Allow(uploadMlModelPermission.Permission)
    async recognitionFeedback(@Ctx() ctx: RequestContext, @Args() args: { after?: string | null; take?: number | null }) {
        const channelId = this.channelId(ctx);
        return guard('read the frames', async () => {
            const after = args.after ?? null;
            if (after !== null && !isFeedbackId(after)) {
                throw new FeedbackRejected('BAD_ARGUMENT', `"${after.slice(0, 80)}" is not a feedback id (after:).`);
            }
            const take = args.take ?? 50;
            if (!Number.isInteger(take) || take < 1 || take > MAX_TAKE) {
                throw new FeedbackRejected('BAD_ARGUMENT', `take must be 1 to ${MAX_TAKE}.`);
            }
            const page = await FeedbackState.storage.list(channelId, after, take);
            const names = await this.productNames(ctx, page.records);
            return {
                items: page.records.map(r => this.item(r, names)),
                totalItems: page.totalItems,
                hasMore: page.hasMore,
                nextCursor: page.nextCursor,
            };
        });
    }

    @Query()
    @Allow(uploadMlModelPermission.Permission)
    async recognitionFeedbackStats(@Ctx() ctx: RequestContext, @Args() args: { since?: Date | null }) {
        const channelId = this.channelId(ctx);
        return guard('read the statistics', () => FeedbackState.storage.stats(channelId, args.since ?? null));
    }

    @Mutation()
    @Allow(uploadMlModelPermission.Permission)
    async deleteRecognitionFeedback(@Ctx() ctx: RequestContext, @Args() args: { ids?: string[] | null; all?: boolean | null }) {
        const channelId = this.channelId(ctx);
        return guard('delete the frames', async () => {
            const ids = args.ids ?? null;
            if ((ids === null) === !args.all) {
                throw new FeedbackRejected('BAD_ARGUMENT', 'Pass either ids or all: true.');
            }
            if (ids !== null && (ids.length > MAX_DELETE_IDS || !ids.every(isFeedbackId))) {
                throw new FeedbackRejected('BAD_ARGUMENT', `ids must be at most ${MAX_DELETE_IDS} feedback ids.`);
            }
            return FeedbackState.storage.delete(channelId, ids ?? 'all');
        });
    }

    private async productNames(ctx: RequestContext, records: FeedbackRecord[]): Promise<Map<string, string>> {
        const ids = [...new Set(records.map(r => r.productId))];
        if (!ids.length) return new Map();
        const products = await this.productService.findByIds(ctx, ids);
        return new Map(products.map(p => [String(p.id), p.name])); // this channel's, not deleted
    }

    private item(r: FeedbackRecord, names: Map<string, string>) {
        const top = r.predictions[0];
        return {
            id: r.id,
            productId: r.productId,
            productName: names.get(r.productId) ?? null,
            predictions: r.predictions,
            predictedProductId: top?.productId ?? null,
            confidence: top?.probability ?? null,
            top1Right: top?.productId === r.productId,
            top3Right: r.predictions.slice(0, 3).some(p => p.productId === r.productId),
            modelVersion: r.modelVersion,
            receivedAt: r.receivedAt,
            imagePath: `/${FEEDBACK_ROUTE}/images/${r.id}`,
            imageBytes: r.bytes,
            sha256: r.sha256,
            width: r.width,
            height: r.height,
        };
    }
}

/**
 * `GET /ml-feedback/images/<id>`: one frame of the active channel (`vendure-token`),
 * for UploadMlModel only, never cached by anyone on the way.
 */
@Controller(FEEDBACK_ROUTE)
export class RecognitionFeedbackImageController {
    constructor(private readonly configService: ConfigService) {}

    @Get('images/:id')
    @Allow(uploadMlModelPermission.Permission)
    async image(@Ctx() ctx: RequestContext, @Param('id') id: string, @Res() res: ServerResponse): Promise<void> {
        res.setHeader('Cache-Control', 'private, no-store');
        res.setHeader('X-Content-Type-Options', 'nosniff');
        res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
        const plain = (status: number, text: string) => {
            res.statusCode = status;
            res.setHeader('Content-Type', 'text/plain; charset=utf-8');
            res.end(text);
        };
        try {
            const file = await FeedbackState.storage.imageFile(encodedId(this.configService, ctx.channelId), id);
            const fh = file ? await fs.open(file, 'r').catch(() => null) : null;
            if (!fh) {
                plain(404, 'Not found');
                return;
            }
            const st = await fh.stat().catch(async e => {
                await fh.close();
                throw e;
            });
            res.statusCode = 200;
            res.setHeader('Content-Type', 'image/jpeg');
            res.setHeader('Content-Length', String(st.size));
            res.setHeader('Content-Disposition', `attachment; filename="${id}.jpg"`);
            await pipeline(fh.createReadStream(), res).catch((e: NodeJS.ErrnoException) => {
                if (e?.code !== 'ERR_STREAM_PREMATURE_CLOSE' && !res.destroyed) throw e;
            });
        } catch (e) {
            const ref = logInternal(`Feedback image ${id}`, e);
            if (res.headersSent) res.destroy();
            else plain(500, `Internal server error (reference ${ref}).`);
        }
    }
}
