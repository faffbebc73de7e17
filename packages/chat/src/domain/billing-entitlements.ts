import {
  type AssertionKey,
  createServiceClient,
  entitlementPath,
  parseEntitlementAnswer,
  type ServiceClient,
} from '@gatehouse/kit';
import type { EntitlementSource } from './limits.ts';

/** A record is a few hundred bytes; anything much larger is not one. */
const MAX_ANSWER_BYTES = 16 * 1024;

/**
 * One machine without Redis: the tenant's record from billing's internal
 * endpoint (`GET /internal/entitlements/:tenantId`, signed as the platform
 * service `chat`), read by kit's contract. Billing answers the free plan for
 * a tenant without a subscription. Anything but a 200 carrying the tenant's
 * record — billing down or slow past `timeoutMs`, an error status, an answer
 * that is not a record — throws: `SendLimits` then keeps the last record it
 * had (none: the free plan). Nothing announces a change on this path, so
 * `SendLimits` caches these records only briefly.
 */
export function billingEntitlements(options: {
  readonly url: string;
  readonly assertionKeys: readonly AssertionKey[];
  readonly timeoutMs?: number;
}): EntitlementSource {
  const call: ServiceClient = createServiceClient({
    baseUrl: options.url,
    service: 'chat',
    assertionKeys: options.assertionKeys,
    timeoutMs: options.timeoutMs ?? 2_000,
    maxBodyBytes: MAX_ANSWER_BYTES,
  });
  return {
    async read(tenantId) {
      const { status, body } = await call({ method: 'GET', path: entitlementPath(tenantId) });
      if (status !== 200) {
        const code = (body as { code?: unknown } | undefined)?.code;
        throw new Error(`billing answered ${status} (${typeof code === 'string' ? code : 'no code'})`);
      }
      const record = parseEntitlementAnswer(tenantId, body);
      if (record === undefined) throw new Error('billing’s entitlement answer is not the tenant’s record');
      return record;
    },
  };
}
