/**
 * A throw-away Vendure 3.7 for the trainer's end-to-end tests: sql.js in memory,
 * loopback only, the ML model plugin loaded from packaging/vendure-plugin exactly as a
 * shop would load it. Everything comes from the environment the pytest fixture sets.
 */
import { bootstrap, DefaultLogger, LogLevel, VendureConfig } from '@vendure/core';
import { AssetServerPlugin } from '@vendure/asset-server-plugin';

import { MlModelPlugin } from '../../../packaging/vendure-plugin/src';
import { TestBulkProductsPlugin } from './bulk';

function env(name: string, fallback?: string): string {
    const value = process.env[name] ?? fallback;
    if (value === undefined) throw new Error(`${name} is not set`);
    return value;
}

function assetOption(name: string, value: string): Record<string, string> {
    return value === 'inherit' ? {} : { [name]: value };
}

const port = Number(env('VENDURE_PORT'));
const assetDir = env('VENDURE_ASSET_DIR');
const mib = 1024 * 1024;

const config: VendureConfig = {
    apiOptions: {
        hostname: '127.0.0.1',
        port,
        adminApiPath: 'admin-api',
        shopApiPath: 'shop-api',
        // how some shops deploy it (tests/core/shop/test_deployments_against_vendure.py)
        channelTokenKey: env('VENDURE_CHANNEL_TOKEN_KEY', 'vendure-token'),
        adminListQueryLimit: Number(env('VENDURE_ADMIN_LIST_LIMIT', '1000')),
    },
    authOptions: {
        tokenMethod: ['bearer'],
        superadminCredentials: {
            identifier: env('VENDURE_SUPERADMIN_USER', 'superadmin'),
            password: env('VENDURE_SUPERADMIN_PASSWORD', 'superadmin'),
        },
    },
    dbConnectionOptions: { type: 'sqljs', synchronize: true, logging: false },
    assetOptions: { uploadMaxFileSize: Number(env('VENDURE_UPLOAD_MAX_BYTES', String(8 * mib))) },
    paymentOptions: { paymentMethodHandlers: [] },
    logger: new DefaultLogger({ level: process.env.VENDURE_DEBUG ? LogLevel.Debug : LogLevel.Warn }),
    plugins: [
        AssetServerPlugin.init({ route: env('VENDURE_ASSET_ROUTE', 'assets'), assetUploadDir: assetDir }),
        TestBulkProductsPlugin, // tests/vendure_server only: a large catalogue in a second
        MlModelPlugin.init({
            // ML_MODEL_ASSET_DIR / ML_MODEL_ASSET_ROUTE: "inherit" leaves them out (the
            // plugin takes the AssetServerPlugin's); anything else is passed as is, so the
            // tests can check that a mismatch stops the server
            ...assetOption('assetUploadDir', env('ML_MODEL_ASSET_DIR', assetDir)),
            ...assetOption('assetRoute', env('ML_MODEL_ASSET_ROUTE', env('VENDURE_ASSET_ROUTE', 'assets'))),
            keepVersions: 3,
            maxWeightsBytes: Number(env('ML_MODEL_MAX_WEIGHTS_BYTES', String(4 * mib))),
            // small limits, so tests/core/shop/test_feedback.py reaches them with a few frames
            feedback: {
                ...(process.env.ML_FEEDBACK_DIR ? { dir: process.env.ML_FEEDBACK_DIR } : {}),
                maxPerChannel: Number(env('ML_FEEDBACK_MAX_PER_CHANNEL', '8')),
                maxBytesPerChannel: Number(env('ML_FEEDBACK_MAX_BYTES_PER_CHANNEL', String(1.25 * mib))),
                rateLimit: { count: Number(env('ML_FEEDBACK_RATE_COUNT', '12')), windowSeconds: 60 },
            },
        }),
    ],
};

bootstrap(config)
    .then(() => {
        // The fixture waits for this exact line on stdout.
        console.log(`VENDURE_READY http://127.0.0.1:${port}`);
    })
    .catch(err => {
        console.error(err);
        process.exit(1);
    });
