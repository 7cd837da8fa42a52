/**
 * Test server only: a supermarket's catalogue in a second. `createProduct` costs Vendure
 * about 10 ms a product (services, events, one request each), so 5,000 products take
 * a minute through the Admin API. `testBulkProducts` writes the same rows (product, its
 * English translation, its channel, one photo) straight through TypeORM in one
 * transaction; they are then read back through Vendure's own `products` query, exactly
 * as a shop's would be. Never part of the plugin a shop installs.
 */
import { Args, Mutation, Resolver } from '@nestjs/graphql';
import {
    Allow,
    Ctx,
    LanguageCode,
    Permission,
    PluginCommonModule,
    Product,
    ProductAsset,
    ProductTranslation,
    RequestContext,
    TransactionalConnection,
    VendurePlugin,
} from '@vendure/core';
import gql from 'graphql-tag';

@Resolver()
export class BulkProductsResolver {
    constructor(private connection: TransactionalConnection) {}

    /** `count` products named `<prefix> 00001`… in the request's channel, each showing
     *  `assetId`; returns their ids in order. */
    @Mutation()
    @Allow(Permission.SuperAdmin)
    async testBulkProducts(
        @Ctx() ctx: RequestContext,
        @Args() args: { prefix: string; count: number; assetId: string },
    ): Promise<string[]> {
        const channelId = ctx.channelId;
        return this.connection.rawConnection.transaction(async em => {
            const ids: string[] = [];
            for (let i = 1; i <= args.count; i++) {
                const name = `${args.prefix} ${String(i).padStart(5, '0')}`;
                const saved = await em.getRepository(Product).insert({
                    enabled: true,
                    featuredAsset: { id: args.assetId } as any,
                });
                const id = saved.identifiers[0].id;
                await em.getRepository(ProductTranslation).insert({
                    languageCode: LanguageCode.en,
                    name,
                    slug: `${args.prefix.toLowerCase().replace(/[^a-z0-9]+/g, '-')}-${i}`,
                    description: '',
                    base: { id } as any,
                });
                await em.getRepository(ProductAsset).insert({
                    assetId: args.assetId,
                    position: 0,
                    productId: id,
                } as any);
                await em
                    .createQueryBuilder()
                    .relation(Product, 'channels')
                    .of(id)
                    .add(channelId);
                ids.push(String(id));
            }
            return ids;
        });
    }
}

@VendurePlugin({
    imports: [PluginCommonModule],
    adminApiExtensions: {
        schema: gql`
            extend type Mutation {
                testBulkProducts(prefix: String!, count: Int!, assetId: ID!): [ID!]!
            }
        `,
        resolvers: [BulkProductsResolver],
    },
    compatibility: '^3.0.0',
})
export class TestBulkProductsPlugin {}
