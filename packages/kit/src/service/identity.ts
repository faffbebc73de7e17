import type { FastifyReply, FastifyRequest } from 'fastify';
import { ASSERTION_HEADER, type AssertedIdentity, type AssertionVerifier } from '../assertion.ts';
import { ProblemError } from '../errors.ts';
import { isPlatformServiceIdentity, SERVICE_SUBJECT_PREFIX } from '../service-assertion.ts';
import { REQUEST_ID_HEADER } from './request-id.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by `requireIdentity`/`requirePlatformService` from the verified gateway assertion only. */
    identity?: AssertedIdentity;
  }
}

export type IdentityHook = (req: FastifyRequest, reply: FastifyReply) => Promise<void>;

function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

function verify(verifier: AssertionVerifier, prefix: string, req: FastifyRequest): AssertedIdentity {
  const requestId = req.headers[REQUEST_ID_HEADER];
  const result = verifier(req.headers[ASSERTION_HEADER], {
    method: req.method,
    path: pathOf(req.url),
    requestId: typeof requestId === 'string' ? requestId : '',
  });
  if (!result.ok) {
    req.log.info({ reason: result.reason }, 'gateway assertion refused');
    throw new ProblemError(
      `${prefix}_UNAUTHENTICATED`,
      { status: 401, title: 'No valid gateway assertion' },
      `the gateway assertion is ${result.reason === 'missing' ? 'missing' : 'not valid'}`,
    );
  }
  return result.identity;
}

/**
 * The caller's identity comes only from the gateway's signed assertion, bound
 * to this request's method, path and request id. `x-user-id` and friends are
 * never read: a request that reached the service around the gateway has no
 * identity.
 */
export function requireIdentity(verifier: AssertionVerifier, prefix: string): IdentityHook {
  return async function requireUserIdentity(req) {
    const identity = verify(verifier, prefix, req);
    if (identity.sub.startsWith(SERVICE_SUBJECT_PREFIX)) {
      throw new ProblemError(
        `${prefix}_FORBIDDEN`,
        { status: 403, title: 'Not allowed' },
        'a user is required',
      );
    }
    req.identity = identity;
    req.log = req.log.child({ userId: identity.sub, tenantId: identity.tid });
  };
}

/** Internal endpoints: only the gateway or another platform service (see service-assertion.ts). */
export function requirePlatformService(verifier: AssertionVerifier, prefix: string): IdentityHook {
  return async function requirePlatformCaller(req) {
    const identity = verify(verifier, prefix, req);
    if (!isPlatformServiceIdentity(identity)) {
      throw new ProblemError(
        `${prefix}_FORBIDDEN`,
        { status: 403, title: 'Not allowed' },
        'only platform services may call this endpoint',
      );
    }
    req.identity = identity;
    req.log = req.log.child({ caller: identity.sub });
  };
}
