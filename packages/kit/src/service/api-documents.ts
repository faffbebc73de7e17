import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { completeDocument, type OpenApiDocument, splitDocument } from '../openapi/document.ts';
import type { IdentityHook } from './identity.ts';

/** Where every service serves its internal document: under `/internal`, which the gateway never routes. */
export const INTERNAL_DOCUMENT_PATH = '/internal/openapi.json';

export interface ApiDocumentsOptions {
  /** The service's public prefix (`/api/auth`): its document at `<prefix>/openapi.json`, a page at `<prefix>/docs`. */
  readonly publicPrefix: string;
  /** The address clients use (through the gateway), the document's `servers`. */
  readonly publicUrl: string;
  readonly info: { readonly title: string; readonly version: string; readonly description?: string };
  readonly tags?: readonly { readonly name: string; readonly description?: string }[];
  readonly securitySchemes?: Readonly<Record<string, unknown>>;
  /** Who may read the internal document: the same check as the internal routes (requirePlatformService). */
  readonly internalAccess: IdentityHook;
}

/**
 * The routes and their schemas are the OpenAPI documents, completed by kit
 * (problem+json everywhere, the shared answers by reference) and split in two:
 * the public one at `<prefix>/openapi.json` and on the interactive page (its
 * assets ship inside @fastify/swagger-ui; nothing is loaded from a CDN), the
 * internal one at /internal/openapi.json for platform callers only.
 * Call before the routes are added: the generator sees routes added after it.
 */
export async function registerApiDocuments(
  app: FastifyInstance,
  options: ApiDocumentsOptions,
): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { ...options.info },
      servers: [{ url: options.publicUrl }],
      components: { securitySchemes: structuredClone(options.securitySchemes ?? {}) as never },
      tags: (options.tags ?? []).map((t) => ({ ...t })),
    },
  });
  // Built once, on first use: the routes are all known by then (after ready).
  let documents: ReturnType<typeof splitDocument> | undefined;
  const built = () => {
    documents ??= splitDocument(completeDocument(app.swagger() as unknown as OpenApiDocument));
    return documents;
  };
  await app.register(swaggerUi, {
    routePrefix: `${options.publicPrefix}/docs`,
    staticCSP: true,
    transformSpecificationClone: false,
    transformSpecification: () => built().public as unknown as Record<string, unknown>,
  });
  app.get(`${options.publicPrefix}/openapi.json`, { schema: { hide: true } }, async (_req, reply) =>
    reply.header('cache-control', 'no-cache').send(built().public),
  );
  app.get(
    INTERNAL_DOCUMENT_PATH,
    { schema: { hide: true }, preHandler: options.internalAccess },
    async (_req, reply) => reply.header('cache-control', 'no-store').send(built().internal),
  );
}
