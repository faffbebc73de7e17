import { Redis } from 'ioredis';
import {
  ENTITLEMENT_CHANNEL,
  entitlementFields,
  entitlementKey,
  FREE_ENTITLEMENT,
} from '../../packages/kit/src/contracts/entitlement.ts';
import { registerUser } from '../servers/identity.ts';
import { accessFrom, type BenchChatUser } from './chat-access.ts';
import { httpJson, keepAliveAgent } from './http-call.ts';
import type { MailLog } from './mail-log.ts';
import { claimsOf } from './platform.ts';
import { inPool } from './pool.ts';

/**
 * The chat bench's people, made through the real APIs: one tenant per
 * channel. Its owner registers with the identity service (which creates the
 * tenant); every other member registers, is invited by the owner, accepts
 * (the token is read from the identity service's development outbox) and
 * switches to the tenant for a token acting there. The owner creates a public
 * channel with chat's API and each member joins it (POST …/join).
 *
 * Each tenant gets billing's entitlement record (written to Redis as billing
 * writes it): premium, with seats for every member and no message quota, so
 * that neither the seat check nor chat's send limits refuse the bench (chat
 * allows 600 messages per user a minute on premium).
 */
export interface Channel {
  readonly id: string;
  readonly tenantId: string;
}

export interface Population {
  readonly channels: readonly Channel[];
  readonly membersPerChannel: number;
  /** Channel c's members are users[c × members … (c+1) × members − 1]; the first is its owner. */
  readonly users: BenchChatUser[];
  /** Fresh access tokens for everyone (same tenant), before a phase that must outlive the old ones. */
  refreshAll(concurrency: number): Promise<void>;
}

export interface PopulateOptions {
  readonly identityUrl: string;
  /** A chat instance for creating and joining channels (direct, with signed assertions). */
  readonly chatUrl: string;
  readonly assertionSecret: string;
  readonly redisUrl: string;
  readonly mail: MailLog;
  readonly channels: number;
  readonly members: number;
  readonly concurrency: number;
  readonly log: (line: string) => void;
}

export const BENCH_ENTITLEMENT = (members: number) => ({
  ...FREE_ENTITLEMENT,
  tier: 'premium' as const,
  seats: members + 5,
  messageQuota: null,
  historyRetentionDays: null,
});

interface TokenPair {
  accessToken: string;
  refreshToken: string;
}

export function userFromToken(accessToken: string): BenchChatUser {
  const c = claimsOf(accessToken);
  if (typeof c.sub !== 'string' || typeof c.tid !== 'string' || typeof c.jti !== 'string') {
    throw new Error('access token without sub, tid or jti');
  }
  const roles = Array.isArray(c.roles) ? c.roles.map(String) : [];
  return { sub: c.sub, tid: c.tid, roles, jti: c.jti, accessToken };
}

export async function populate(o: PopulateOptions): Promise<Population> {
  const agent = keepAliveAgent(o.concurrency * 2);
  const identity = accessFrom({
    mode: 'direct',
    origins: [o.identityUrl],
    secret: o.assertionSecret,
    wsAuth: 'header',
  });
  const chat = accessFrom({
    mode: 'direct',
    origins: [o.chatUrl],
    secret: o.assertionSecret,
    wsAuth: 'header',
  });
  const call = <T>(
    base: string,
    user: BenchChatUser | undefined,
    method: string,
    path: string,
    body?: unknown,
  ) =>
    httpJson<T>(
      agent,
      base,
      method,
      path,
      user === undefined ? {} : (base === o.identityUrl ? identity : chat).headers(user, method, path),
      body,
    );
  const users = new Array<BenchChatUser>(o.channels * o.members);
  const refreshers = new Array<() => Promise<BenchChatUser>>(users.length);
  const channels = new Array<Channel>(o.channels);
  const started = Date.now();

  // Owners: each registers, which creates the channel's tenant.
  await inPool(channels, o.concurrency, async (_, c) => {
    const owner = await registerUser(o.identityUrl);
    users[c * o.members] = userFromToken(owner.accessToken);
    refreshers[c * o.members] = async () => userFromToken(await owner.refresh());
  });
  const redis = new Redis(o.redisUrl);
  try {
    const tx = redis.multi();
    for (let c = 0; c < o.channels; c++) {
      const tid = (users[c * o.members] as BenchChatUser).tid;
      tx.hset(entitlementKey(tid), entitlementFields(BENCH_ENTITLEMENT(o.members)));
      tx.publish(ENTITLEMENT_CHANNEL, tid);
    }
    await tx.exec();
  } finally {
    redis.disconnect();
  }
  await inPool(channels, o.concurrency, async (_, c) => {
    const owner = users[c * o.members] as BenchChatUser;
    const created = await call<{ id: string }>(o.chatUrl, owner, 'POST', '/api/chat/conversations', {
      kind: 'public',
      name: `bench-${c}`,
    });
    channels[c] = { id: created.id, tenantId: owner.tid };
  });
  o.log(
    `set-up: ${o.channels} tenants, owners and channels (${((Date.now() - started) / 1000).toFixed(1)} s)`,
  );

  // Members: register, be invited, accept, switch to the tenant, join the channel.
  const seats = Array.from({ length: o.channels * (o.members - 1) }, (_, i) => ({
    c: Math.floor(i / (o.members - 1)),
    j: 1 + (i % (o.members - 1)),
  }));
  let done = 0;
  const progress = setInterval(
    () => o.log(`set-up: ${done}/${seats.length} members (${((Date.now() - started) / 1000).toFixed(0)} s)`),
    10_000,
  );
  try {
    await inPool(seats, o.concurrency, async ({ c, j }) => {
      const channel = channels[c] as Channel;
      const owner = users[c * o.members] as BenchChatUser;
      const registered = await registerUser(o.identityUrl);
      const own = userFromToken(registered.accessToken);
      await call(o.identityUrl, owner, 'POST', `/api/auth/tenants/${channel.tenantId}/invitations`, {
        email: registered.email,
        role: 'member',
      });
      const token = await o.mail.token(registered.email, /invited/i);
      await call(o.identityUrl, own, 'POST', '/api/auth/invitations/accept', { token });
      let pair = await call<TokenPair>(o.identityUrl, own, 'POST', '/api/auth/switch-tenant', {
        tenantId: channel.tenantId,
      });
      const member = userFromToken(pair.accessToken);
      if (member.tid !== channel.tenantId) throw new Error(`switch-tenant gave a token for ${member.tid}`);
      await call(o.chatUrl, member, 'POST', `/api/chat/conversations/${channel.id}/join`);
      users[c * o.members + j] = member;
      refreshers[c * o.members + j] = async () => {
        pair = await call<TokenPair>(o.identityUrl, undefined, 'POST', '/api/auth/refresh', {
          refreshToken: pair.refreshToken,
        });
        return userFromToken(pair.accessToken);
      };
      done++;
    });
  } finally {
    clearInterval(progress);
  }
  o.log(
    `set-up: ${users.length} users in ${o.channels} channels (${((Date.now() - started) / 1000).toFixed(1)} s)`,
  );

  return {
    channels,
    membersPerChannel: o.members,
    users,
    async refreshAll(concurrency) {
      await inPool(users, concurrency, async (old, i) => {
        const fresh = await (refreshers[i] as () => Promise<BenchChatUser>)();
        if (fresh.sub !== old.sub || fresh.tid !== old.tid) {
          throw new Error(
            `refreshed token of user ${i} is for ${fresh.sub}/${fresh.tid}, not ${old.sub}/${old.tid}`,
          );
        }
        users[i] = fresh;
      });
    },
  };
}
