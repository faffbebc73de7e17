import type { Database } from '@gatehouse/kit/service';
import { captureLogger, randomSecret } from '@gatehouse/kit/testing';
import { type Actor, BillingService } from '../src/domain/billing.ts';
import { CATALOGUE_V1 } from '../src/domain/catalogue.ts';
import { days } from '../src/domain/clock.ts';
import type { Policy } from '../src/domain/subscription.ts';
import { type EntitlementPublisher, memoryEntitlementPublisher } from '../src/entitlements/publisher.ts';
import { type LocalProvider, localProvider } from '../src/providers/local.ts';
import type { ChargeRequest, PaymentProvider, PaymentStatus } from '../src/providers/provider.ts';
import type { TestBackend } from './backends.ts';
import { ManualClock } from './manual-clock.ts';

export const POLICY: Policy = { catalogue: CATALOGUE_V1, graceMs: days(7), incompleteMs: 23 * 3_600_000 };
export const OWNER: Actor = { id: 'user:owner-1', requestId: 'req-1' };

export interface Harness {
  readonly db: Database;
  readonly clock: ManualClock;
  readonly provider: LocalProvider;
  readonly publisher: ReturnType<typeof memoryEntitlementPublisher>;
  readonly service: BillingService;
  readonly webhookSecret: string;
  readonly log: ReturnType<typeof captureLogger>;
  /** Decide each charge's outcome by tenant (succeeded by default). */
  readonly outcomes: Map<string, PaymentStatus>;
  readonly charges: ChargeRequest[];
  close(): Promise<void>;
}

/** The billing service on a real database, the local provider and a memory publisher, driven by a manual clock. */
export async function startHarness(
  backend: TestBackend,
  wrap: {
    provider?: (p: PaymentProvider) => PaymentProvider;
    publisher?: (p: EntitlementPublisher) => EntitlementPublisher;
  } = {},
): Promise<Harness> {
  const { db, close } = await backend.open();
  const clock = new ManualClock('2026-03-10T09:00:00Z');
  const outcomes = new Map<string, PaymentStatus>();
  const charges: ChargeRequest[] = [];
  const webhookSecret = `whsec_${randomSecret()}`;
  const provider = localProvider({
    webhookSecrets: [webhookSecret],
    outcome: (request) => {
      charges.push(request);
      return outcomes.get(request.tenantId) ?? 'succeeded';
    },
  });
  const publisher = memoryEntitlementPublisher();
  const log = captureLogger('billing', 'info');
  const service = new BillingService({
    db,
    provider: wrap.provider?.(provider) ?? provider,
    publisher: wrap.publisher?.(publisher) ?? publisher,
    clock,
    policy: POLICY,
    logger: log.logger,
  });
  return { db, clock, provider, publisher, service, webhookSecret, log, outcomes, charges, close };
}

export async function errorCode(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (err) {
    return (err as { code?: string }).code;
  }
  return undefined;
}
