import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type Database, openPglite, runMigrations } from '@gatehouse/kit/service';
import { MIGRATIONS_DIR } from '../src/app.ts';
import { insertRevocations, pruneRevocations, readRevocations } from '../src/db/revocations.ts';
import { pruneThrottles, saveThrottle } from '../src/db/throttles.ts';

let db: Database;
before(async () => {
  db = await openPglite(undefined);
  await runMigrations(db, MIGRATIONS_DIR);
});
after(() => db.close());

test('revocations are pruned only once they cannot matter; the feed pages with its cursor', async () => {
  const now = 2_000_000_000;
  await insertRevocations(db, [
    { type: 'jti', jti: 'expired', exp: now - 1 },
    { type: 'jti', jti: 'live', exp: now + 60 },
    { type: 'user', sub: 'old', notBefore: now - 1000 },
    { type: 'user', sub: 'recent', notBefore: now - 100 },
    { type: 'tenant', tid: 'suspended', notBefore: now - 100 },
  ]);
  const first = await readRevocations(db, 0, 2);
  assert.equal(first.events.length, 2);
  const rest = await readRevocations(db, first.cursor, 100);
  assert.equal(rest.events.length, 3);
  assert.deepEqual(rest.events[2], { type: 'tenant', tid: 'suspended', notBefore: now - 100 });
  assert.deepEqual(await readRevocations(db, rest.cursor, 100), { events: [], cursor: rest.cursor });

  assert.equal(await pruneRevocations(db, now, 900), 2);
  const kept = await readRevocations(db, 0, 100);
  assert.deepEqual(
    kept.events.map((e) => (e.type === 'jti' ? e.jti : e.type === 'user' ? e.sub : e.tid)),
    ['live', 'recent', 'suspended'],
  );
});

test('stale throttle rows are pruned, active locks are kept', async () => {
  const longAgo = new Date(Date.now() - 3 * 86_400_000);
  await saveThrottle(db, 'acct:stale', { failures: 2, windowStartedAt: longAgo, lockedUntil: null });
  await saveThrottle(db, 'acct:locked', {
    failures: 9,
    windowStartedAt: longAgo,
    lockedUntil: new Date(Date.now() + 60_000),
  });
  await pruneThrottles(db);
  const rows = await db.query<{ key: string }>('select key from throttles order by key');
  assert.deepEqual(
    rows.rows.map((r) => r.key),
    ['acct:locked'],
  );
});
