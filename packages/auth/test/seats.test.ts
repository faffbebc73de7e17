import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { entitlementFields, entitlementKey, FREE_ENTITLEMENT } from '@gatehouse/kit';
import { Redis } from 'ioredis';
import { startAuth, type TestAuth } from './helpers.ts';

/** Seats come from billing's entitlement record: the invitation beyond them is refused. */

async function invite(t: TestAuth, owner: { accessToken: string; tenant: { id: string } }, email: string) {
  return t.call('POST', `/api/auth/tenants/${owner.tenant.id}/invitations`, {
    token: owner.accessToken,
    body: { email, role: 'member' },
  });
}

describe('seats without a record (the free plan)', () => {
  let t: TestAuth;
  before(async () => {
    t = await startAuth();
  });
  after(() => t.close());

  test(`a tenant without a record has the free plan's ${FREE_ENTITLEMENT.seats} seats: open invitations hold them`, async () => {
    const owner = await t.registerUser('owner');
    for (let i = 1; i < FREE_ENTITLEMENT.seats; i++) {
      const res = await invite(t, owner, `seat${i}-${randomUUID()}@example.com`);
      assert.equal(res.statusCode, 201, res.body);
    }
    const refused = await invite(t, owner, `one-too-many-${randomUUID()}@example.com`);
    assert.equal(refused.statusCode, 409);
    assert.equal(refused.json().code, 'AUTH_SEATS_EXCEEDED');
    assert.match(refused.json().detail, /5 seats and 5 are taken/);
  });
});

const redisUrl = process.env.GATEHOUSE_TEST_REDIS_URL;
describe("seats from billing's record in Redis", {
  skip: redisUrl === undefined ? 'SKIPPED (Redis not installed): GATEHOUSE_TEST_REDIS_URL is not set' : false,
}, () => {
  let t: TestAuth;
  let redis: Redis;
  before(async () => {
    t = await startAuth({ REDIS_URL: redisUrl as string });
    redis = new Redis(redisUrl as string);
  });
  after(async () => {
    redis.disconnect();
    await t.close();
  });

  test('the plan’s seats apply at invitation and at acceptance; a larger plan admits more', async () => {
    const owner = await t.registerUser('owner');
    const key = entitlementKey(owner.tenant.id);
    await redis.hset(key, entitlementFields({ ...FREE_ENTITLEMENT, tier: 'standard', seats: 2 }));
    const joiner = await t.registerUser('joiner');
    assert.equal((await invite(t, owner, joiner.email)).statusCode, 201);
    const second = await invite(t, owner, `second-${randomUUID()}@example.com`);
    assert.equal(second.json().code, 'AUTH_SEATS_EXCEEDED');

    // Billing lowers the plan after the invitation went out: accepting is refused too.
    await redis.hset(key, entitlementFields({ ...FREE_ENTITLEMENT, seats: 1 }));
    const accept = await t.call('POST', '/api/auth/invitations/accept', {
      token: joiner.accessToken,
      body: { token: t.mailedToken(joiner.email, /invited/) },
    });
    assert.equal(accept.statusCode, 409, accept.body);
    assert.equal(accept.json().code, 'AUTH_SEATS_EXCEEDED');

    await redis.hset(key, entitlementFields({ ...FREE_ENTITLEMENT, tier: 'premium', seats: 250 }));
    assert.equal((await invite(t, owner, `third-${randomUUID()}@example.com`)).statusCode, 201);
    await redis.del(key);
  });
});
