import { registerOpenApi } from '@gatehouse/kit/service';
import type { FastifyInstance } from 'fastify';
import type { AuthConfig } from '../config.ts';

/** /api/auth/openapi.json and /api/auth/docs, from the routes' schemas (kit's registerOpenApi). */
export async function registerDocs(app: FastifyInstance, config: AuthConfig): Promise<void> {
  await registerOpenApi(app, {
    basePath: '/api/auth',
    title: 'Gatehouse identity service',
    description:
      'Users, tenants, roles and tokens. Reached through the gateway at /api/auth. Errors are RFC 9457 ' +
      'problem documents with AUTH_* codes (docs/errors.md).',
    publicUrl: config.publicUrl,
    tags: [
      { name: 'session', description: 'Sign-up, sign-in, refresh, sign-out' },
      { name: 'account', description: 'The signed-in user, password, email' },
      { name: 'tenants', description: 'Tenants, members, invitations' },
      { name: 'keys', description: 'Token verification keys' },
      { name: 'internal', description: 'For the gateway and platform services only (not routed publicly)' },
    ],
  });
}
