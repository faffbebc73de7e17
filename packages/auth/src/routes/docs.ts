import { type IdentityHook, registerApiDocuments } from '@gatehouse/kit/service';
import type { FastifyInstance } from 'fastify';
import type { AuthConfig } from '../config.ts';

/**
 * The identity service's OpenAPI documents (kit's registerApiDocuments): the
 * public one at /api/auth/openapi.json and /api/auth/docs (through the
 * gateway), the internal one (/internal/*: the revocation feed, user records)
 * at /internal/openapi.json on the service's own address, for platform callers.
 */
export async function registerDocs(
  app: FastifyInstance,
  config: AuthConfig,
  internalAccess: IdentityHook,
): Promise<void> {
  await registerApiDocuments(app, {
    publicPrefix: '/api/auth',
    publicUrl: config.publicUrl,
    internalAccess,
    info: {
      title: 'Gatehouse identity service',
      version: '0.1.0',
      description:
        'Users, tenants, roles and tokens. Reached through the gateway at /api/auth. Errors are RFC 9457 ' +
        'problem documents with AUTH_* codes (and GW_* from the gateway), listed in docs/errors.md.',
    },
    securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT (at+jwt)' } },
    tags: [
      { name: 'session', description: 'Sign-up, sign-in, refresh, sign-out' },
      { name: 'account', description: 'The signed-in user, password, email' },
      { name: 'tenants', description: 'Tenants, members, invitations' },
      { name: 'keys', description: 'Token verification keys' },
      { name: 'internal', description: 'For the gateway and platform services only (not routed publicly)' },
    ],
  });
}
