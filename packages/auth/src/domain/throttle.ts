import type { Queryable } from '@gatehouse/kit/service';
import type { AuthConfig } from '../config.ts';
import { clearThrottle, findThrottles, saveThrottle, type ThrottleRow } from '../db/throttles.ts';

/**
 * Brute-force protection. Two counters per attempt: the account (by email,
 * known or not, so unknown emails look the same) and the client (by IP).
 * Failures within the window grow a delay (1 s, 2 s, 4 s … from the third),
 * and at the limit lock the key for `lockSeconds`. Attempts during a delay or
 * lock count as failures. A locked account answers exactly like a wrong
 * password; a locked client gets a 429 (it says nothing about any account).
 */
export interface ThrottleState {
  readonly accountLocked: boolean;
  readonly clientRetryAfter: number | undefined;
}

export const accountKey = (emailNormalized: string) => `acct:${emailNormalized}`;
export const clientKey = (ip: string) => `ip:${ip}`;

export async function throttleState(q: Queryable, account: string, client: string): Promise<ThrottleState> {
  const rows = await findThrottles(q, [account, client]);
  const now = Date.now();
  const lockedFor = (row: ThrottleRow | undefined) =>
    row?.lockedUntil !== null && row?.lockedUntil !== undefined && row.lockedUntil.getTime() > now
      ? Math.ceil((row.lockedUntil.getTime() - now) / 1000)
      : undefined;
  return {
    accountLocked: lockedFor(rows.get(account)) !== undefined,
    clientRetryAfter: lockedFor(rows.get(client)),
  };
}

export async function recordFailure(
  q: Queryable,
  key: string,
  max: number,
  settings: AuthConfig['throttle'],
  growingDelay = true,
): Promise<{ failures: number; locked: boolean }> {
  const rows = await findThrottles(q, [key]);
  const now = new Date();
  const previous = rows.get(key);
  const fresh =
    previous === undefined ||
    now.getTime() - previous.windowStartedAt.getTime() > settings.windowSeconds * 1000;
  const failures = fresh ? 1 : previous.failures + 1;
  let lockedUntil: Date | null = null;
  if (failures >= max) lockedUntil = new Date(now.getTime() + settings.lockSeconds * 1000);
  else if (growingDelay && failures >= 3) lockedUntil = new Date(now.getTime() + 1000 * 2 ** (failures - 3));
  await saveThrottle(q, key, {
    failures,
    windowStartedAt: fresh ? now : previous.windowStartedAt,
    lockedUntil,
  });
  return { failures, locked: failures >= max };
}

export async function recordSuccess(q: Queryable, key: string): Promise<void> {
  await clearThrottle(q, key);
}
