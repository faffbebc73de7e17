/**
 * A tenant's entitlement record: what its plan allows. Billing writes one per
 * tenant as a Redis hash at `entitlement:<tenantId>` (every field a string,
 * see `entitlementFields`) and publishes the tenant id on
 * `gatehouse:entitlements` when it changes. The gateway reads `tier` (rate
 * limits); services read the rest. A missing or unreadable record means the
 * free plan (`FREE_ENTITLEMENT`). Without Redis (one machine) readers ask
 * billing for the record instead (`entitlementPath`, `parseEntitlementAnswer`).
 */
export const TENANT_TIERS = ['free', 'standard', 'premium'] as const;
export type TenantTier = (typeof TENANT_TIERS)[number];
export const DEFAULT_TIER: TenantTier = 'free';

export interface EntitlementRecord {
  readonly tier: TenantTier;
  /** Members the tenant may have. */
  readonly seats: number;
  /** Chat messages the tenant may send per quota period (null: unlimited). */
  readonly messageQuota: number | null;
  /** The quota's period in days (30: a month). */
  readonly quotaPeriodDays: number;
  /** Messages older than this many days are hidden from history (null: kept for ever). */
  readonly historyRetentionDays: number | null;
  /** Feature flags the plan turns on (e.g. `search`, `guest-access`). */
  readonly features: readonly string[];
}

/** Billing writes the record here; the gateway reads its `tier` field. */
export function entitlementKey(tenantId: string): string {
  return `entitlement:${tenantId}`;
}

/** Billing publishes the tenant id here after it writes a record, so readers drop their cached copy. */
export const ENTITLEMENT_CHANNEL = 'gatehouse:entitlements';

/** The plan of a tenant without a record. */
export const FREE_ENTITLEMENT: EntitlementRecord = Object.freeze({
  tier: 'free',
  seats: 5,
  messageQuota: 10_000,
  quotaPeriodDays: 30,
  historyRetentionDays: 90,
  features: Object.freeze([]) as readonly string[],
});

/** Messages per user per minute a chat member may send, by tier (the chat service enforces it). */
export const MESSAGES_PER_MINUTE: Readonly<Record<TenantTier, number>> = Object.freeze({
  free: 30,
  standard: 120,
  premium: 600,
});

/** A stored tier value; anything unknown (or `anonymous`, which no tenant has) is `free`. */
export function parseTier(value: string | undefined | null): TenantTier {
  const tier = value?.trim().toLowerCase();
  return (TENANT_TIERS as readonly string[]).includes(tier ?? '') ? (tier as TenantTier) : DEFAULT_TIER;
}

/** The record as Redis hash fields (`HSET entitlement:<tid> …`). */
export function entitlementFields(record: EntitlementRecord): Record<string, string> {
  return {
    tier: record.tier,
    seats: String(record.seats),
    messageQuota: record.messageQuota === null ? '' : String(record.messageQuota),
    quotaPeriodDays: String(record.quotaPeriodDays),
    historyRetentionDays: record.historyRetentionDays === null ? '' : String(record.historyRetentionDays),
    features: record.features.join(','),
  };
}

/**
 * The record from its hash fields (`HGETALL`); undefined when there is no
 * record (an empty hash). A field that is missing or unreadable takes the free
 * plan's value, so a half-written record never grants more than it says.
 */
export function parseEntitlement(fields: Readonly<Record<string, string>> | null | undefined) {
  if (fields === null || fields === undefined || Object.keys(fields).length === 0) return undefined;
  const count = (v: string | undefined, fallback: number | null, nullable: boolean): number | null => {
    if (v === undefined) return fallback;
    if (v === '') return nullable ? null : fallback;
    const n = Number(v);
    return Number.isInteger(n) && n >= 0 ? n : fallback;
  };
  const free = FREE_ENTITLEMENT;
  const record: EntitlementRecord = {
    tier: parseTier(fields.tier),
    seats: count(fields.seats, free.seats, false) as number,
    messageQuota: count(fields.messageQuota, free.messageQuota, true),
    quotaPeriodDays: Math.max(1, count(fields.quotaPeriodDays, free.quotaPeriodDays, false) as number),
    historyRetentionDays: count(fields.historyRetentionDays, free.historyRetentionDays, true),
    features: (fields.features ?? '')
      .split(',')
      .map((f) => f.trim())
      .filter((f) => /^[a-z0-9][a-z0-9-]{0,62}$/.test(f)),
  };
  return record;
}

/**
 * Billing's internal read of one tenant's record (`GET`, platform services
 * only), for readers without Redis: the record as JSON — kit's fields with
 * their JSON types (numbers, `null`, an array of features) plus billing's own
 * (`tenantId`, `plan`, `status`, `periodEnd`, `version`, `updatedAt`). A
 * tenant without a subscription is answered the free plan. Nothing announces
 * a change on this path: a reader's cache time is how long a change takes.
 */
export function entitlementPath(tenantId: string): string {
  return `/internal/entitlements/${encodeURIComponent(tenantId)}`;
}

/** Each JSON field in its hash form (see `entitlementFields`); undefined: missing or of another type. */
const JSON_FIELDS: Readonly<Record<keyof EntitlementRecord, (v: unknown) => string | undefined>> = {
  tier: (v) => (typeof v === 'string' ? v : undefined),
  seats: (v) => (typeof v === 'number' ? String(v) : undefined),
  messageQuota: (v) => (v === null ? '' : typeof v === 'number' ? String(v) : undefined),
  quotaPeriodDays: (v) => (typeof v === 'number' ? String(v) : undefined),
  historyRetentionDays: (v) => (v === null ? '' : typeof v === 'number' ? String(v) : undefined),
  // A feature with a comma would read as two in the hash form: it is dropped instead.
  features: (v) =>
    Array.isArray(v) ? v.filter((f) => typeof f === 'string' && !f.includes(',')).join(',') : undefined,
};

/**
 * The record from billing's JSON answer for `tenantId` (`GET
 * entitlementPath`), by the very rules of the hash: each field is put in its
 * hash form and read by `parseEntitlement`, so a field that is missing or of
 * another type takes the free plan's value — a quota or a retention is
 * unlimited only where the answer says `null`. Undefined when the answer is
 * not an object, is another tenant's, or holds none of the record's fields
 * (billing always answers a whole record: the reader treats that as a failed
 * read).
 */
export function parseEntitlementAnswer(tenantId: string, value: unknown): EntitlementRecord | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const answer = value as Record<string, unknown>;
  if (answer.tenantId !== tenantId) return undefined;
  const fields: Record<string, string> = {};
  for (const [name, toField] of Object.entries(JSON_FIELDS)) {
    const field = toField(answer[name]);
    if (field !== undefined) fields[name] = field;
  }
  return parseEntitlement(fields);
}
