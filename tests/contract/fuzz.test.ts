import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { FUZZED_METHODS, methodsByPath, type Operation, operationsOf } from './operations.ts';
import { Oracle } from './oracle.ts';
import { type Platform, startPlatform } from './platform.ts';
import { type Case, casesFor } from './requests.ts';
import type { Schema } from './schema-arbitrary.ts';
import { SERVICES, type Session } from './services.ts';
import { send } from './wire.ts';

/**
 * Every service holds the contract of its public OpenAPI document under a
 * fuzzer: for every operation, requests generated from the document's schemas
 * (valid ones, deliberately invalid ones, hostile strings in every text field)
 * go through the real gateway with a valid token. It fails on any 5xx, any
 * status or content type the document does not declare, any body that
 * violates the declared schema, any schema-valid request refused, unstorable
 * text (NUL, unpaired surrogates) not refused with a 400 naming the field, and
 * any wrong method on a known path answered other than 405 with `Allow`.
 *
 * Seeded and bounded: CONTRACT_SEED (printed) replays a run exactly;
 * CONTRACT_CASES sets the generated cases per operation (the hostile ones
 * come on top: every hostile string in every text field).
 */
const SEED = Number(process.env.CONTRACT_SEED ?? 20261206);
const CASES = Number(process.env.CONTRACT_CASES ?? 24);
/** Shown per operation; the rest are counted. */
const SHOWN = 5;

/** JSON with long strings cut: a fault report must stay readable. */
function short(value: unknown): string {
  return JSON.stringify(value, (_k, v) =>
    typeof v === 'string' && v.length > 60 ? `${v.slice(0, 40)}…(${v.length})` : v,
  );
}

function describeCase(method: string, op: Operation, c: Case): string {
  return `${method} ${op.path} [${c.kind}: ${c.note}] params=${short(c.params)} query=${short(c.query)} body=${
    c.body === undefined ? '(none)' : short(c.body)
  }`;
}

describe('the contract of every public API document, through the gateway', () => {
  let platform: Platform;
  before(async () => {
    platform = await startPlatform(SERVICES);
    process.stdout.write(
      `contract fuzz: seed ${SEED}, ${CASES} cases per operation, database ${platform.backend}\n`,
    );
  });
  after(async () => {
    await platform?.stop();
  });

  for (const [index, service] of SERVICES.entries()) {
    test(`${service.name}: every operation of ${service.document}`, async (t) => {
      const started = performance.now();
      const gw = platform.gateway.url;
      const res = await fetch(`${gw}${service.document}`);
      assert.equal(res.status, 200, `the public document is served through the gateway: ${res.status}`);
      const doc = (await res.json()) as Schema;
      const operations = operationsOf(doc);
      assert.ok(operations.length > 0, 'the document lists operations');
      const oracle = new Oracle(doc);
      let session: Session = await service.session(gw);
      let sent = 0;
      // Not a fault by the contract's rules, but worth seeing: where the service is laxer than its document.
      const laxer: string[] = [];

      const skipped = new Set(service.skip ?? []);
      const unknownSkips = [...skipped].filter((s) => !operations.some((o) => `${o.method} ${o.path}` === s));
      assert.deepEqual(unknownSkips, [], 'every left-out operation is in the document');
      for (const [n, op] of operations.entries()) {
        // Left out of the generated cases only: its wrong methods are still probed below.
        if (skipped.has(`${op.method} ${op.path}`)) continue;
        await t.test(`${op.method} ${op.path}`, async () => {
          const faults: string[] = [];
          const cases = casesFor(op, doc, session.known, {
            seed: SEED + index * 1000 + n,
            valid: Math.ceil(CASES / 2),
            mutated: Math.floor(CASES / 2),
          });
          let valid = 0;
          for (const c of cases) {
            const answer = await send(gw, op.method, op, c, session.token);
            sent++;
            const schemaValid = oracle.requestIsValid(op, c);
            if (c.kind === 'valid' && schemaValid) valid++;
            if (!schemaValid && answer.status < 300) laxer.push(`${op.method} ${op.path} [${c.note}]`);
            for (const fault of oracle.check(op, c, answer)) {
              faults.push(
                `${fault}\n    ${describeCase(op.method, op, c)}\n    → ${answer.status} ${answer.text.slice(0, 200)}`,
              );
            }
            // A case may end the caller's session (sign-out, password change): the next case gets a new one.
            if (answer.status === 401 && answer.text.includes('"GW_')) session = await service.session(gw);
          }
          // The generators must reach the handler: a suite of refusals proves little.
          if (valid === 0) faults.push(`no generated request was schema-valid (${cases.length} cases)`);
          assert.equal(
            faults.length,
            0,
            `${faults.length} contract faults (seed ${SEED}):\n  ${faults.slice(0, SHOWN).join('\n  ')}`,
          );
        });
      }

      await t.test('wrong methods on every known path answer 405 with Allow', async () => {
        const faults: string[] = [];
        for (const [path, methods] of methodsByPath(operations)) {
          const op = operations.find((o) => o.path === path) as Operation;
          const [c] = casesFor(op, doc, session.known, { seed: SEED, valid: 1, mutated: 0 });
          const probe = { ...(c as Case), query: {}, body: undefined };
          for (const method of FUZZED_METHODS.filter((m) => !methods.has(m))) {
            const answer = await send(gw, method, op, probe, session.token);
            sent++;
            if (answer.status !== 405) {
              faults.push(`${method} ${path} → ${answer.status} ${answer.text.slice(0, 200)}`);
              continue;
            }
            const allow = new Set((answer.allow ?? '').split(',').map((m) => m.trim().toUpperCase()));
            const expected = [...methods, ...(methods.has('GET') ? ['HEAD'] : [])];
            const extra = [...allow].filter((m) => !expected.includes(m) && m !== 'OPTIONS');
            const missing = expected.filter((m) => !allow.has(m));
            if (missing.length > 0 || extra.length > 0) {
              faults.push(
                `${method} ${path}: Allow is "${answer.allow}", the document has ${expected.join(', ')}`,
              );
            }
            const shape = oracle.checkDeclared(
              { 405: { $ref: '#/components/responses/MethodNotAllowed' } },
              answer,
            );
            faults.push(...shape.map((f) => `${method} ${path}: ${f}`));
          }
        }
        assert.equal(faults.length, 0, `wrong methods:\n  ${faults.slice(0, 10).join('\n  ')}`);
      });
      process.stdout.write(
        `contract fuzz: ${service.name}: ${operations.length - skipped.size} operations` +
          `${skipped.size > 0 ? ` (${skipped.size} left out)` : ''}, ${sent} requests in ` +
          `${((performance.now() - started) / 1000).toFixed(1)} s; ` +
          `${laxer.length} schema-invalid requests accepted${laxer.length > 0 ? `, e.g. ${laxer.slice(0, 3).join('; ')}` : ''}\n`,
      );
    });
  }
});
