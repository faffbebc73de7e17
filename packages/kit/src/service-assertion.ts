import { randomUUID } from 'node:crypto';
import {
  ASSERTION_HEADER,
  type AssertedIdentity,
  type AssertionKey,
  createAssertionSigner,
} from './assertion.ts';

/**
 * Service-to-service calls (the gateway asking the identity service about a
 * user, a platform job calling an internal endpoint) prove who calls with the
 * same signed assertion the gateway puts on user requests, signed with the same
 * keys: `sub` is `service:<name>`, the tenant is `platform`, the one role is
 * `platform-service`. No user token can produce such an assertion: only holders
 * of the assertion keys can sign one, and the gateway never signs a `service:`
 * subject for a user.
 */
export const PLATFORM_SERVICE_ROLE = 'platform-service';
export const PLATFORM_TENANT = 'platform';
export const SERVICE_SUBJECT_PREFIX = 'service:';

export function isPlatformServiceIdentity(identity: AssertedIdentity): boolean {
  return (
    identity.sub.startsWith(SERVICE_SUBJECT_PREFIX) &&
    identity.tid === PLATFORM_TENANT &&
    identity.roles.includes(PLATFORM_SERVICE_ROLE)
  );
}

export interface ServiceCallHeaders {
  readonly 'x-gateway-assertion': string;
  readonly 'x-request-id': string;
}

export type ServiceCallSigner = (method: string, path: string, requestId?: string) => ServiceCallHeaders;

/** Headers for one call from service `name`: the assertion is bound to method, path (no query) and request id. */
export function createServiceCallSigner(keys: readonly AssertionKey[], name: string): ServiceCallSigner {
  if (!/^[a-z][a-z0-9-]{0,62}$/.test(name))
    throw new Error(`createServiceCallSigner: invalid service name ${name}`);
  const sign = createAssertionSigner(keys);
  const identity: AssertedIdentity = {
    sub: `${SERVICE_SUBJECT_PREFIX}${name}`,
    tid: PLATFORM_TENANT,
    roles: [PLATFORM_SERVICE_ROLE],
  };
  return function signServiceCall(method, path, requestId = randomUUID()) {
    const bare = path.split('?')[0] as string;
    return {
      [ASSERTION_HEADER]: sign(identity, { method: method.toUpperCase(), path: bare, requestId }),
      'x-request-id': requestId,
    } as ServiceCallHeaders;
  };
}
