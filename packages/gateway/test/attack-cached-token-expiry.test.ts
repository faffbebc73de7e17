import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  AUDIENCE,
  generateTestKeys,
  ISSUER,
  problemOf,
  startTestGateway,
  type TestGateway,
} from './harness.ts';

/**
 * Attack: keep using a token after it expired, hoping the verified-token
 * cache still has it. A cached token must stop working at `exp` (plus the
 * configured leeway, here 0) exactly like an uncached one.
 */
describe('attack: reusing an expired token that the gateway cached', () => {
  let gw: TestGateway;
  before(async () => {
    const keys = await generateTestKeys();
    gw = await startTestGateway({
      keys,
      config: {
        auth: {
          issuer: ISSUER,
          audience: AUDIENCE,
          keys: [keys.publicJwk as never],
          clockToleranceSeconds: 0,
        },
      },
    });
  });
  after(() => gw.close());

  it('accepts the token while valid, then refuses it once expired', async () => {
    const now = Math.floor(Date.now() / 1000);
    const exp = now + 2;
    const token = await gw.token({ iat: now, exp });
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${gw.url}/api/items`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(res.status, 200);
      await res.arrayBuffer();
    }
    await new Promise((r) => setTimeout(r, exp * 1000 - Date.now() + 150));
    const arrived = gw.upstream.arrived.length;
    const res = await fetch(`${gw.url}/api/items`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.status, 401);
    assert.equal((await problemOf(res)).code, 'GW_INVALID_TOKEN');
    assert.equal(gw.upstream.arrived.length, arrived);
  });
});
