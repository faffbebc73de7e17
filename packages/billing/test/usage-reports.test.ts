import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createServiceCallSigner, USAGE_REPORTS_PATH } from '@gatehouse/kit/service';
import { startBillingApp } from './app-harness.ts';
import { BACKENDS } from './backends.ts';

/**
 * `POST /internal/usage/reports`: chat's batches of messages per tenant.
 * Each batch is counted once per Idempotency-Key, however often it is sent,
 * and all of it or none of it.
 */
for (const backend of BACKENDS) {
  describe(`usage reports on ${backend.name}`, { skip: backend.skip }, () => {
    let t: Awaited<ReturnType<typeof startBillingApp>>;
    let sign: ReturnType<typeof createServiceCallSigner>;
    before(async () => {
      t = await startBillingApp(backend);
      sign = createServiceCallSigner(t.config.assertionKeys, 'chat');
    });
    after(() => t?.close());

    function report(key: string | undefined, reports: { tenantId: string; messages: number }[]) {
      return t.billing.app.inject({
        method: 'POST',
        url: USAGE_REPORTS_PATH,
        headers: {
          ...sign('POST', USAGE_REPORTS_PATH),
          ...(key === undefined ? {} : { 'idempotency-key': key }),
        },
        payload: { reports },
      });
    }

    async function messages(tenantId: string): Promise<number> {
      const res = await t.internal('GET', `/internal/usage/${tenantId}`);
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json().tenantId, tenantId);
      return res.json().messages;
    }

    it('a batch adds each tenant’s count and answers each total; other tenants are untouched', async () => {
      const [a, b, c] = [t.tenant(), t.tenant(), t.tenant()];
      const first = await report(randomUUID(), [
        { tenantId: a.id, messages: 3 },
        { tenantId: b.id, messages: 5 },
      ]);
      assert.equal(first.statusCode, 200, first.body);
      const answer = first.json() as {
        usage: { tenantId: string; messages: number; messageQuota: number }[];
      };
      assert.deepEqual(
        answer.usage.map((u) => [u.tenantId, u.messages]).sort(),
        [
          [a.id, 3],
          [b.id, 5],
        ].sort(),
      );
      assert.equal(answer.usage[0]?.messageQuota, 10_000, 'the free plan’s quota');
      const second = await report(randomUUID(), [{ tenantId: a.id, messages: 4 }]);
      assert.equal(second.json().usage[0].messages, 7);
      assert.deepEqual([await messages(a.id), await messages(b.id), await messages(c.id)], [7, 5, 0]);
      const shown = await t.call('GET', `/api/billing/tenants/${a.id}/usage`, { as: a.member });
      assert.equal(shown.json().messages, 7);
    });

    it('the same batch sent again with its key is answered, not counted again', async () => {
      const a = t.tenant();
      const key = `chat-test:${randomUUID()}:1`;
      const body = [{ tenantId: a.id, messages: 11 }];
      const first = await report(key, body);
      assert.equal(first.statusCode, 200);
      const again = await report(key, body);
      assert.equal(again.statusCode, 200);
      assert.equal(again.headers['idempotent-replayed'], 'true');
      assert.deepEqual(again.json(), first.json());
      assert.equal(await messages(a.id), 11);
    });

    it('a batch and its retry arriving together are counted once', async () => {
      const a = t.tenant();
      const key = `chat-test:${randomUUID()}:1`;
      const answers = await Promise.all(
        Array.from({ length: 5 }, () => report(key, [{ tenantId: a.id, messages: 2 }])),
      );
      for (const res of answers) assert.equal(res.statusCode, 200, res.body);
      assert.equal(answers.filter((r) => r.headers['idempotent-replayed'] === 'true').length, 4);
      assert.equal(await messages(a.id), 2);
    });

    it('a one-off report takes an Idempotency-Key too', async () => {
      const a = t.tenant();
      const one = () =>
        t.billing.app.inject({
          method: 'POST',
          url: '/internal/usage/messages',
          headers: { ...sign('POST', '/internal/usage/messages'), 'idempotency-key': 'one-off-1' },
          payload: { tenantId: a.id, messages: 5 },
        });
      assert.equal((await one()).statusCode, 200);
      const again = await one();
      assert.equal(again.headers['idempotent-replayed'], 'true');
      assert.equal(again.json().messages, 5);
      assert.equal(await messages(a.id), 5);
    });

    it('two instances report under their own keys; billing adds them', async () => {
      const a = t.tenant();
      await Promise.all([
        report(`chat-one:${randomUUID()}:1`, [{ tenantId: a.id, messages: 6 }]),
        report(`chat-two:${randomUUID()}:1`, [{ tenantId: a.id, messages: 9 }]),
      ]);
      assert.equal(await messages(a.id), 15);
    });

    it('refused without a key, with a reused key, a tenant twice, or a user’s assertion; nothing counted', async () => {
      const a = t.tenant();
      const noKey = await report(undefined, [{ tenantId: a.id, messages: 1 }]);
      assert.equal(noKey.statusCode, 400);
      assert.equal(noKey.json().code, 'BILL_IDEMPOTENCY_KEY_INVALID');

      const key = `chat-test:${randomUUID()}:1`;
      assert.equal((await report(key, [{ tenantId: a.id, messages: 1 }])).statusCode, 200);
      const reused = await report(key, [{ tenantId: a.id, messages: 2 }]);
      assert.equal(reused.statusCode, 422);
      assert.equal(reused.json().code, 'BILL_IDEMPOTENCY_KEY_REUSED');

      const twice = await report(randomUUID(), [
        { tenantId: a.id, messages: 1 },
        { tenantId: a.id, messages: 1 },
      ]);
      assert.equal(twice.statusCode, 400);
      assert.equal(twice.json().code, 'BILL_VALIDATION');

      for (const reports of [[], [{ tenantId: a.id, messages: 0 }], [{ tenantId: a.id, messages: 1.5 }]]) {
        const bad = await report(randomUUID(), reports);
        assert.equal(bad.statusCode, 400, JSON.stringify(reports));
        assert.equal(bad.json().code, 'BILL_VALIDATION');
      }

      const asUser = await t.call('POST', USAGE_REPORTS_PATH, {
        as: a.owner,
        headers: { 'idempotency-key': randomUUID() },
        body: { reports: [{ tenantId: a.id, messages: 100 }] },
      });
      assert.equal(asUser.statusCode, 403);
      const readAsUser = await t.call('GET', `/internal/usage/${a.id}`, { as: a.owner });
      assert.equal(readAsUser.statusCode, 403);
      assert.equal(await messages(a.id), 1);
    });
  });
}
