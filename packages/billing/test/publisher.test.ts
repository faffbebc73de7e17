import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { FREE_ENTITLEMENT, parseEntitlement } from '@gatehouse/kit';
import { Redis } from 'ioredis';
import { CATALOGUE_V1 } from '../src/domain/catalogue.ts';
import { entitlementRecordFor } from '../src/domain/entitlements.ts';
import {
  ENTITLEMENT_CHANNEL,
  entitlementKey,
  memoryEntitlementPublisher,
  redisEntitlementPublisher,
} from '../src/entitlements/publisher.ts';

const redisUrl = process.env.GATEHOUSE_TEST_REDIS_URL;

function record(tenantId: string, version: number, tier: 'free' | 'standard' | 'premium') {
  const base = entitlementRecordFor(tenantId, undefined, CATALOGUE_V1, 1_000);
  return { ...base, tier, plan: tier, version };
}

describe('the memory publisher', () => {
  it('keeps the newest record and tells listeners in this process', async () => {
    const publisher = memoryEntitlementPublisher();
    const heard: string[] = [];
    const stop = publisher.onChange((r) => heard.push(`${r.tenantId}:${r.tier}`));
    await publisher.publish(record('t1', 2, 'premium'));
    await publisher.publish(record('t1', 1, 'standard'));
    stop();
    await publisher.publish(record('t1', 3, 'free'));
    assert.equal(publisher.get('t1')?.tier, 'free');
    assert.deepEqual(heard, ['t1:premium']);
  });
});

describe('the Redis publisher', {
  skip: redisUrl === undefined ? 'SKIPPED (Redis not installed): GATEHOUSE_TEST_REDIS_URL is not set' : false,
}, () => {
  let redis: Redis;
  let subscriber: Redis;
  before(async () => {
    redis = new Redis(redisUrl as string);
    subscriber = new Redis(redisUrl as string);
    await subscriber.subscribe(ENTITLEMENT_CHANNEL);
  });
  after(() => {
    redis.disconnect();
    subscriber.disconnect();
  });

  it('writes the hash the gateway reads and announces it; an older version never overwrites a newer one', async () => {
    const publisher = redisEntitlementPublisher(redis);
    const tenant = randomUUID();
    const message = once(subscriber, 'message');
    await publisher.publish(record(tenant, 5, 'premium'));
    const [channel, payload] = (await message) as [string, string];
    assert.equal(channel, ENTITLEMENT_CHANNEL);
    assert.equal(payload, tenant, 'the announcement is the tenant id (kit contract)');
    const hash = await redis.hgetall(entitlementKey(tenant));
    assert.equal(hash.tier, 'premium');
    assert.equal(hash.version, '5');
    // What every reader gets through kit's parser.
    assert.deepEqual(parseEntitlement(hash), { ...FREE_ENTITLEMENT, tier: 'premium' });
    await publisher.publish(record(tenant, 4, 'free'));
    assert.equal(await redis.hget(entitlementKey(tenant), 'tier'), 'premium');
    await publisher.publish(record(tenant, 6, 'standard'));
    assert.equal(await redis.hget(entitlementKey(tenant), 'tier'), 'standard');
    await redis.del(entitlementKey(tenant));
  });
});
