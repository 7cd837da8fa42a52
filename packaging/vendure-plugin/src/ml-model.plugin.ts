/**
 * Dukahub ML model plugin: lets the Dukahub Model Trainer publish a channel's
 * product-recognition model (TF.js `model.json` + `weights.bin` + `metadata.json`)
 * in one Admin API call, keeps a few previous versions for rollback, and serves the
 * current one at `/<assets>/ml-models/<channelId>/latest/<file>` for the POS.
 */
import * as path from 'path';
import { Readable } from 'stream';

import { Args, Mutation, Query, Resolver } from '@nestjs/graphql';
import {
    Allow,
    ConfigService,
    Ctx,
    PermissionDefinition,
    PluginCommonModule,
    RequestContext,
    Type,
    VendurePlugin,
} from '@vendure/core';
import { GraphQLError } from 'graphql';
import gql from 'graphql-tag';

import { createModelFileHandler } from './ml-model.middleware';
import { ModelFileName, ModelRejected, ModelStorage, StoredVersion } from './ml-model-storage';

export interface MlModelPluginOptions {
    /** The AssetServerPlugin's `assetUploadDir`; models go to `<it>/ml-models/`. */
    assetUploadDir: string;
    /** The AssetServerPlugin's `route` (default `assets`). */
    assetRoute?: string;
    /** Previous versions kept for rollback besides the served one (default 5). */
    keepVersions?: number;
    /** Size caps in bytes. GraphQL uploads are also capped by `assetOptions.uploadMaxFileSize`. */
    maxModelJsonBytes?: number;
    maxWeightsBytes?: number;
    maxMetadataBytes?: number;
}

export const uploadMlModelPermission = new PermissionDefinition({
    name: 'UploadMlModel',
    description: 'Allows publishing and rolling back the product-recognition model of a channel',
});

interface FileUpload {
    filename: string;
    mimetype: string;
    createReadStream(): Readable;
}

const MODEL_ERROR = 'ML_MODEL_REJECTED';

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

class PluginState {
    static options: Required<MlModelPluginOptions>;
    static storage: ModelStorage;
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

    private async guard<T>(work: () => Promise<T>): Promise<T> {
        try {
            return await work();
        } catch (e) {
            if (e instanceof ModelRejected) throw rejected(e.message);
            throw e;
        }
    }

    @Query()
    @Allow(uploadMlModelPermission.Permission)
    async mlModel(@Ctx() ctx: RequestContext) {
        const channelId = this.channelId(ctx);
        return this.guard(async () => {
            const { current, versions } = await PluginState.storage.list(channelId);
            return {
                channelId,
                latestPath: `/${PluginState.options.assetRoute}/ml-models/${channelId}/latest/`,
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
        return this.guard(async () => {
            const uploads: Record<ModelFileName, FileUpload> = {
                'model.json': await received('model.json', args.modelJson),
                'weights.bin': await received('weights.bin', args.weights),
                'metadata.json': await received('metadata.json', args.metadata),
            };
            return PluginState.storage.publish(channelId, {
                'model.json': () => uploads['model.json'].createReadStream(),
                'weights.bin': () => uploads['weights.bin'].createReadStream(),
                'metadata.json': () => uploads['metadata.json'].createReadStream(),
            });
        });
    }

    @Mutation()
    @Allow(uploadMlModelPermission.Permission)
    async rollbackMlModel(@Ctx() ctx: RequestContext, @Args() args: { version: string }): Promise<StoredVersion> {
        const channelId = this.channelId(ctx);
        return this.guard(() => PluginState.storage.rollback(channelId, args.version));
    }
}

@VendurePlugin({
    imports: [PluginCommonModule],
    adminApiExtensions: { schema, resolvers: [MlModelResolver] },
    configuration: config => {
        config.authOptions.customPermissions.push(uploadMlModelPermission);
        const route = PluginState.options.assetRoute.replace(/^\/+|\/+$/g, '');
        // A middleware added here runs before the AssetServerPlugin's (which would serve
        // ml-models/ with a 180-day max-age, temp and old versions included).
        config.apiOptions.middleware.push({
            route: `/${route}`,
            handler: createModelFileHandler(PluginState.storage),
            beforeListen: true,
        });
        return config;
    },
    compatibility: '^3.0.0',
})
export class MlModelPlugin {
    static init(options: MlModelPluginOptions): Type<MlModelPlugin> {
        const full: Required<MlModelPluginOptions> = {
            assetRoute: 'assets',
            keepVersions: 5,
            maxModelJsonBytes: 10 * 1024 * 1024,
            maxWeightsBytes: 100 * 1024 * 1024,
            maxMetadataBytes: 1024 * 1024,
            ...options,
        };
        PluginState.options = full;
        PluginState.storage = new ModelStorage(
            path.join(full.assetUploadDir, 'ml-models'),
            {
                modelJsonBytes: full.maxModelJsonBytes,
                weightsBytes: full.maxWeightsBytes,
                metadataBytes: full.maxMetadataBytes,
            },
            Math.max(1, full.keepVersions),
        );
        return MlModelPlugin;
    }
}
