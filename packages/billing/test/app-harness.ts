import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAssertionSigner, createServiceCallSigner } from '@gatehouse/kit/service';
import { captureLogger, randomSecret } from '@gatehouse/kit/testing';
import { type BillingApp, buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { memoryEntitlementPublisher } from '../src/entitlements/publisher.ts';
import { localProvider } from '../src/providers/local.ts';
import type { PaymentStatus } from '../src/providers/provider.ts';
import type { TestBackend } from './backends.ts';
import { ManualClock } from './manual-clock.ts';

export interface Caller {
  readonly sub: string;
  readonly tid: string;
  readonly roles: string[];
}

/** The billing app on a real database with the local provider, called as the gateway would (signed assertions). */
export async function startBillingApp(backend: TestBackend, env: Record<string, string> = {}) {
  const secret = randomSecret();
  const webhookSecret = `whsec_${randomSecret()}`;
  const config = loadConfig({
    GATEWAY_ASSERTION_SECRET: secret,
    BILLING_DATA_DIR: mkdtempSync(join(tmpdir(), 'gh-billing-')),
    BILLING_LOCAL_WEBHOOK_SECRET: webhookSecret,
    LOG_LEVEL: 'info',
    ...env,
  });
  const { db, close: closeDb } = await backend.open();
  const log = captureLogger('billing', 'info');
  const clock = new ManualClock(Date.now());
  const outcomes = new Map<string, PaymentStatus>();
  let charges = 0;
  const provider = localProvider({
    webhookSecrets: [webhookSecret],
    outcome: (r) => {
      charges++;
      return outcomes.get(r.tenantId) ?? 'succeeded';
    },
  });
  const publisher = memoryEntitlementPublisher();
  const billing: BillingApp = await buildApp(config, {
    logger: log.logger,
    database: db,
    clock,
    provider,
    publisher,
    scheduler: false,
  });
  const sign = createAssertionSigner(config.assertionKeys);
  const service = createServiceCallSigner(config.assertionKeys, 'chat');
  let n = 0;

  async function call(
    method: 'GET' | 'POST',
    url: string,
    options: { as?: Caller; body?: unknown; headers?: Record<string, string> } = {},
  ) {
    const headers: Record<string, string> = { ...options.headers };
    if (options.as !== undefined) {
      const requestId = `test-request-${++n}`;
      headers['x-request-id'] = requestId;
      headers['x-gateway-assertion'] = sign(
        { sub: options.as.sub, tid: options.as.tid, roles: options.as.roles },
        { method, path: url.split('?')[0] as string, requestId },
      );
    }
    return billing.app.inject({
      method,
      url,
      headers,
      ...(options.body === undefined ? {} : { payload: options.body as object }),
    });
  }

  async function internal(method: 'GET' | 'POST', url: string, body?: unknown) {
    return billing.app.inject({
      method,
      url,
      headers: { ...service(method, url.split('?')[0] as string) },
      ...(body === undefined ? {} : { payload: body as object }),
    });
  }

  function tenant(): { id: string; owner: Caller; admin: Caller; member: Caller } {
    const id = randomUUID();
    return {
      id,
      owner: { sub: randomUUID(), tid: id, roles: ['owner'] },
      admin: { sub: randomUUID(), tid: id, roles: ['admin'] },
      member: { sub: randomUUID(), tid: id, roles: ['member'] },
    };
  }

  return {
    billing,
    config,
    db,
    log,
    clock,
    provider,
    publisher,
    outcomes,
    webhookSecret,
    charges: () => charges,
    call,
    internal,
    tenant,
    async close() {
      await billing.close();
      await closeDb();
    },
  };
}
