/**
 * Dukahub ML model plugin: lets the Dukahub Model Trainer publish a channel's
 * product-recognition model (TF.js `model.json` + `weights.bin` + `metadata.json`)
 * in one Admin API call, keeps a few previous versions for rollback, and serves the
 * current one at `/<assets>/ml-models/<channelId>/latest/<file>` for the POS.
 */
import { randomBytes } from 'crypto';
import { realpathSync } from 'fs';
import * as path from 'path';
import { Readable } from 'stream';

import { Args, Mutation, Query, Resolver } from '@nestjs/graphql';
import { OnApplicationBootstrap } from '@nestjs/common';
import {
    Allow,
    ChannelEvent,
    ConfigService,
    Ctx,
    EventBus,
    Logger,
    PluginCommonModule,
    RequestContext,
    Type,
    VendurePlugin,
} from '@vendure/core';
import { GraphQLError } from 'graphql';
import gql from 'graphql-tag';

import { createModelFileHandler } from './ml-model.middleware';
import { isSystemError, ModelFileName, ModelRejected, ModelStorage, StoredVersion } from './ml-model-storage';
import { submitRecognitionFeedbackPermission, uploadMlModelPermission } from './permissions';
import {
    FeedbackState,
    feedbackSchema,
    RateLimiter,
    RecognitionFeedbackImageController,
    RecognitionFeedbackOptions,
    RecognitionFeedbackResolver,
    resolveFeedbackOptions,
} from './recognition-feedback';
import { FeedbackStorage } from './recognition-feedback-storage';

export { submitRecognitionFeedbackPermission, uploadMlModelPermission };

export interface MlModelPluginOptions {
    /**
     * The AssetServerPlugin's `assetUploadDir`; models go to `<it>/ml-models/`. Leave it
     * out to take the AssetServerPlugin's; if given, it must be the same folder (the
     * server refuses to start otherwise).
     */
    assetUploadDir?: string;
    /** The AssetServerPlugin's `route`; same rules as `assetUploadDir`. */
    assetRoute?: string;
    /**
     * How many stored versions to keep, counting the served one (default 5): the newest
     * `keepVersions` are kept, plus the served one if a rollback made an older one current.
     */
    keepVersions?: number;
    /** Size caps in bytes. GraphQL uploads are also capped by `assetOptions.uploadMaxFileSize`. */
    maxModelJsonBytes?: number;
    maxWeightsBytes?: number;
    maxMetadataBytes?: number;
    /**
     * Recognition feedback from the POS (frames with the cashier's choice): where it is
     * stored, size and quota limits, rate limit. See recognition-feedback.ts for defaults.
     */
    feedback?: RecognitionFeedbackOptions;
}


interface FileUpload {
    filename: string;
    mimetype: string;
    createReadStream(): Readable;
}

const MODEL_ERROR = 'ML_MODEL_REJECTED';
const SERVER_ERROR = 'ML_MODEL_SERVER_ERROR';
const loggerCtx = 'MlModelPlugin';

const schema = gql`
    type MlModelFile {
        name: String!
        size: Int!
        sha256: String!
    }
    type MlModelVersion {
        version: String!
        trainedAt: String
        createdAt: String!
        current: Boolean!
        files: [MlModelFile!]!
        metadata: JSON!
    }
    type MlModelStatus {
        channelId: ID!
        "Path of the served model's folder, relative to the server root (ends with /latest/)."
        latestPath: String!
        current: MlModelVersion
        versions: [MlModelVersion!]!
    }
    extend type Query {
        mlModel: MlModelStatus!
    }
    extend type Mutation {
        "Publishes a model for the active channel; the previous one is served until this one is complete."
        uploadMlModel(modelJson: Upload!, weights: Upload!, metadata: Upload!): MlModelVersion!
        "Serves an earlier version again."
        rollbackMlModel(version: String!): MlModelVersion!
    }
`;

type ResolvedOptions = Required<Omit<MlModelPluginOptions, 'feedback'>>;

class PluginState {
    static options: MlModelPluginOptions;
    static resolved: ResolvedOptions;
    static storage: ModelStorage;
}

/** Logs what went wrong (paths and all) and returns the reference the client is shown. */
function logInternal(what: string, e: unknown): string {
    const ref = randomBytes(4).toString('hex');
    Logger.error(`${what} failed (reference ${ref}): ${String((e as Error)?.stack ?? e)}`, loggerCtx);
    return ref;
}

function normaliseRoute(route: string): string {
    return route.replace(/^\/+|\/+$/g, '');
}

function samePath(a: string, b: string): boolean {
    const norm = (p: string) => {
        let full = path.resolve(p);
        try {
            full = realpathSync.native(full); // the same folder reached through a symlink
        } catch {
            // not created yet: compare as written
        }
        return full.replace(/[\\/]+$/, '');
    };
    return process.platform === 'win32' || process.platform === 'darwin'
        ? norm(a).toLowerCase() === norm(b).toLowerCase()
        : norm(a) === norm(b);
}

/**
 * The plugin's folder and route must be the AssetServerPlugin's: if they differed, the
 * AssetServerPlugin would serve ml-models/ itself — `.versions/`, `.tmp/` and all, with
 * its 180-day cache. Missing options are taken from it; a mismatch stops the server.
 */
export function resolveAssetOptions(options: MlModelPluginOptions, plugins: unknown[]): { assetUploadDir: string; assetRoute: string } {
    const assetServer = plugins.find((p: any) => typeof p === 'function' && p.name === 'AssetServerPlugin') as
        | { options?: { route?: string; assetUploadDir?: string } }
        | undefined;
    const theirs = assetServer?.options;
    const fail = (message: string): never => {
        throw new Error(`MlModelPlugin: ${message}`);
    };
    const dir = options.assetUploadDir ?? theirs?.assetUploadDir;
    const route = options.assetRoute ?? theirs?.route;
    if (!dir || !route) {
        fail(
            'assetUploadDir and assetRoute are not set and no AssetServerPlugin (with route and ' +
                'assetUploadDir) is configured before this plugin to take them from.',
        );
    }
    if (theirs?.assetUploadDir && !samePath(dir!, theirs.assetUploadDir)) {
        fail(
            `assetUploadDir "${dir}" is not the AssetServerPlugin's assetUploadDir "${theirs.assetUploadDir}". ` +
                'They must be the same folder, or the AssetServerPlugin would serve the stored versions and ' +
                'uploads under ml-models/ with its long cache lifetime. Remove assetUploadDir from ' +
                "MlModelPlugin.init() to use the AssetServerPlugin's.",
        );
    }
    if (theirs?.route !== undefined && normaliseRoute(route!) !== normaliseRoute(theirs.route)) {
        fail(
            `assetRoute "${route}" is not the AssetServerPlugin's route "${theirs.route}". They must be the ` +
                'same, or the AssetServerPlugin would serve the stored versions and uploads under ml-models/ ' +
                "with its long cache lifetime. Remove assetRoute from MlModelPlugin.init() to use the AssetServerPlugin's.",
        );
    }
    return { assetUploadDir: dir!, assetRoute: normaliseRoute(route!) };
}

function rejected(message: string): GraphQLError {
    return new GraphQLError(message, { extensions: { code: MODEL_ERROR } });
}

/** Awaits one GraphQL upload; a broken or oversized one becomes a clear refusal. */
async function received(name: ModelFileName, upload: Promise<FileUpload>): Promise<FileUpload> {
    try {
        const file = await upload;
        if (!file || typeof file.createReadStream !== 'function') throw new Error('not a file');
        return file;
    } catch (e: any) {
        if (isSystemError(e)) throw e; // e.g. no room for the upload's temp file: logged, not shown
        throw new ModelRejected(`Upload of ${name} did not complete (${String(e?.message ?? e)}).`);
    }
}

@Resolver()
export class MlModelResolver {
    constructor(private readonly configService: ConfigService) {}

    /** The channel id as the API shows it (the trainer writes this into metadata.json). */
    private channelId(ctx: RequestContext): string {
        const strategy = this.configService.entityOptions.entityIdStrategy;
        return String(strategy ? strategy.encodeId(ctx.channelId as any) : ctx.channelId);
    }

    /**
     * Refusals reach the client as they are; anything else (a file-system error, with
     * server paths in it) is logged and the client gets a reference to it instead.
     */
    private async guard<T>(what: string, work: () => Promise<T>): Promise<T> {
        try {
            return await work();
        } catch (e) {
            if (e instanceof ModelRejected) throw rejected(e.message);
            if (e instanceof GraphQLError && !isSystemError(e.originalError)) throw e;
            const ref = logInternal(what, e);
            throw new GraphQLError(
                `The server could not ${what.toLowerCase()} because of a problem on the server ` +
                    `(reference ${ref}; the details are in the server's log).`,
                { extensions: { code: SERVER_ERROR, reference: ref } },
            );
        }
    }

    @Query()
    @Allow(uploadMlModelPermission.Permission)
    async mlModel(@Ctx() ctx: RequestContext) {
        const channelId = this.channelId(ctx);
        return this.guard('Read the model versions', async () => {
            const { current, versions } = await PluginState.storage.list(channelId);
            return {
                channelId,
                latestPath: `/${PluginState.resolved.assetRoute}/ml-models/${channelId}/latest/`,
                current,
                versions,
            };
        });
    }

    @Mutation()
    @Allow(uploadMlModelPermission.Permission)
    async uploadMlModel(
        @Ctx() ctx: RequestContext,
        @Args() args: { modelJson: Promise<FileUpload>; weights: Promise<FileUpload>; metadata: Promise<FileUpload> },
    ): Promise<StoredVersion> {
        const channelId = this.channelId(ctx);
        return this.guard('Store the model', async () => {
            const uploads: Record<ModelFileName, FileUpload> = {
                'model.json': await received('model.json', args.modelJson),
                'weights.bin': await received('weights.bin', args.weights),
                'metadata.json': await received('metadata.json', args.metadata),
            };
            return PluginState.storage.publish(
                channelId,
                {
                    'model.json': () => uploads['model.json'].createReadStream(),
                    'weights.bin': () => uploads['weights.bin'].createReadStream(),
                    'metadata.json': () => uploads['metadata.json'].createReadStream(),
                },
                e => logInternal('Removing old model versions', e),
            );
        });
    }

    @Mutation()
    @Allow(uploadMlModelPermission.Permission)
    async rollbackMlModel(@Ctx() ctx: RequestContext, @Args() args: { version: string }): Promise<StoredVersion> {
        const channelId = this.channelId(ctx);
        return this.guard('Switch the model version', () => PluginState.storage.rollback(channelId, args.version));
    }
}

@VendurePlugin({
    imports: [PluginCommonModule],
    adminApiExtensions: {
        schema: gql`
            ${schema}
            ${feedbackSchema}
        `,
        resolvers: [MlModelResolver, RecognitionFeedbackResolver],
    },
    controllers: [RecognitionFeedbackImageController],
    configuration: config => {
        config.authOptions.customPermissions.push(uploadMlModelPermission, submitRecognitionFeedbackPermission);
        const { feedback, ...options } = PluginState.options;
        const { assetUploadDir, assetRoute } = resolveAssetOptions(options, config.plugins ?? []);
        PluginState.resolved = {
            keepVersions: 5,
            maxModelJsonBytes: 10 * 1024 * 1024,
            maxWeightsBytes: 100 * 1024 * 1024,
            maxMetadataBytes: 1024 * 1024,
            ...options,
            assetUploadDir,
            assetRoute,
        };
        const uploadMax = config.assetOptions.uploadMaxFileSize ?? 20 * 1024 * 1024;
        FeedbackState.options = resolveFeedbackOptions(feedback, assetUploadDir, assetRoute, uploadMax);
        FeedbackState.storage = new FeedbackStorage(FeedbackState.options.dir, FeedbackState.options);
        FeedbackState.limiter = new RateLimiter(
            FeedbackState.options.rateLimit.count,
            FeedbackState.options.rateLimit.windowSeconds * 1000,
        );
        const full = PluginState.resolved;
        PluginState.storage = new ModelStorage(
            path.join(assetUploadDir, 'ml-models'),
            {
                modelJsonBytes: full.maxModelJsonBytes,
                weightsBytes: full.maxWeightsBytes,
                metadataBytes: full.maxMetadataBytes,
            },
            Math.max(1, full.keepVersions),
        );
        // A middleware added here runs before the AssetServerPlugin's (which would serve
        // ml-models/ with a 180-day max-age, temp and old versions included).
        config.apiOptions.middleware.push({
            route: `/${assetRoute}`,
            handler: createModelFileHandler(PluginState.storage, message => Logger.error(message, loggerCtx)),
            beforeListen: true,
        });
        return config;
    },
    compatibility: '^3.0.0',
})
export class MlModelPlugin implements OnApplicationBootstrap {
    constructor(
        private readonly eventBus: EventBus,
        private readonly configService: ConfigService,
    ) {}

    /** A deleted channel's models, frames and statistics go with it. */
    onApplicationBootstrap(): void {
        this.eventBus.ofType(ChannelEvent).subscribe(event => {
            if (event.type !== 'deleted') return;
            const strategy = this.configService.entityOptions.entityIdStrategy;
            const raw = event.entity?.id ?? (event.input as any);
            const channelId = String(strategy ? strategy.encodeId(raw) : raw);
            FeedbackState.storage.removeChannel(channelId).catch(e => {
                Logger.error(`Removing the recognition feedback of deleted channel ${channelId} failed: ${String(e?.stack ?? e)}`, loggerCtx);
            });
            PluginState.storage?.removeChannel(channelId).catch(e => {
                Logger.error(`Removing the models of deleted channel ${channelId} failed: ${String(e?.stack ?? e)}`, loggerCtx);
            });
        });
    }

    static init(options: MlModelPluginOptions = {}): Type<MlModelPlugin> {
        // the folder and route are settled when the server starts (see resolveAssetOptions)
        PluginState.options = { ...options };
        return MlModelPlugin;
    }
}
