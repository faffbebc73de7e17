import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { STRONG_PASSWORD, startAuth, type TestAuth } from './helpers.ts';

let t: TestAuth;
before(async () => {
  // Real argon2 cost here: the timing comparison must be about the work actually done.
  t = await startAuth({
    AUTH_ARGON2_MEMORY_KIB: '19456',
    AUTH_ARGON2_TIME_COST: '2',
    AUTH_LOGIN_MAX_FAILURES: '5',
  });
});
after(() => t.close());

const login = (email: string, password: string, ip?: string) =>
  t.call('POST', '/api/auth/login', {
    body: { email, password },
    ...(ip === undefined ? {} : { headers: { 'x-forwarded-for': ip } }),
  });

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

interface TimingRun {
  readonly du: number;
  readonly dl: number;
  readonly tolerance: number;
  readonly summary: string;
}

/** One measurement: ROUNDS rounds of (unknown email, wrong password, locked account), interleaved. */
async function measure(attempt: number, bodies: Set<string>): Promise<TimingRun> {
  const ROUNDS = 21;
  // A fresh account per wrong-password sample, so it is a plain wrong password, never a locked account.
  const known = await Promise.all(Array.from({ length: ROUNDS }, () => t.registerUser('timing')));
  const locked = await t.registerUser('locked');
  for (let i = 0; i < 6; i++) await login(locked.email, 'wrong password attempt');
  const times = { unknown: [] as number[], wrong: [] as number[], locked: [] as number[] };
  for (let i = 0; i < ROUNDS; i++) {
    const calls: [keyof typeof times, string][] = [
      ['unknown', `nobody-${attempt}-${i}@example.com`],
      ['wrong', (known[i] as { email: string }).email],
      ['locked', locked.email],
    ];
    // Rotate the order each round so that no case always runs first.
    for (let k = 0; k < calls.length; k++) {
      const [kind, email] = calls[(i + k) % calls.length] as [keyof typeof times, string];
      const started = performance.now();
      const res = await login(email, `not the password ${i}`);
      times[kind].push(performance.now() - started);
      assert.equal(res.statusCode, 401);
      const { requestId: _r, ...rest } = res.json();
      bodies.add(JSON.stringify(rest));
    }
  }
  const [mu, mw, ml] = [median(times.unknown), median(times.wrong), median(times.locked)];
  // Paired per round, so that load from other test files running in parallel mostly cancels out.
  const du = median(times.unknown.map((v, i) => v - (times.wrong[i] as number)));
  const dl = median(times.locked.map((v, i) => v - (times.wrong[i] as number)));
  // Within 5 ms on a quiet machine. When the suite runs in parallel the hash itself takes several
  // times longer and jitters with it, so the bound grows to a fifth of the hash time: still far
  // below what skipping the hash for unknown or locked accounts would show (the whole hash time).
  const tolerance = Math.max(5, 0.2 * mw);
  const summary =
    `attempt ${attempt}: medians unknown ${mu.toFixed(2)} ms, wrong ${mw.toFixed(2)} ms, locked ${ml.toFixed(2)} ms; ` +
    `paired differences unknown ${du.toFixed(2)} ms, locked ${dl.toFixed(2)} ms (bound ${tolerance.toFixed(1)} ms)`;
  return { du, dl, tolerance, summary };
}

test('unknown email, wrong password and locked account: same answer, about the same time', async (ctx) => {
  const bodies = new Set<string>();
  // A real difference (skipping the hash) shows in every measurement; noise from parallel test
  // files does not. Up to three measurements: the first within the bound passes.
  const runs: TimingRun[] = [];
  for (let attempt = 1; attempt <= 3; attempt++) {
    const run = await measure(attempt, bodies);
    runs.push(run);
    ctx.diagnostic(run.summary);
    if (Math.abs(run.du) < run.tolerance && Math.abs(run.dl) < run.tolerance) break;
  }
  assert.equal(bodies.size, 1, 'one answer for all three');
  const last = runs[runs.length - 1] as TimingRun;
  assert.ok(
    Math.abs(last.du) < last.tolerance && Math.abs(last.dl) < last.tolerance,
    runs.map((r) => r.summary).join('\n'),
  );
});

test('after repeated failures the account locks: even the right password is refused, and audited', async () => {
  const u = await t.registerUser('lock');
  for (let i = 0; i < 5; i++) assert.equal((await login(u.email, `wrong ${i}`)).statusCode, 401);
  const right = await login(u.email, STRONG_PASSWORD);
  assert.equal(right.statusCode, 401);
  assert.equal(right.json().code, 'AUTH_INVALID_CREDENTIALS');
  const audit = await t.auth.services.db.query<{ event: string }>(
    `select event from audit_log where user_id = $1 order by id`,
    [u.user.id],
  );
  const events = audit.rows.map((r) => r.event);
  assert.ok(events.includes('login_failed'));
  assert.ok(events.includes('login_locked'));
  // A password reset ends the lock (the owner of the address proved it).
  await t.call('POST', '/api/auth/password-reset/request', { body: { email: u.email } });
  const token = t.mailedToken(u.email, /Reset/);
  const newPassword = 'a brand new pass phrase 2026';
  assert.equal(
    (await t.call('POST', '/api/auth/password-reset/confirm', { body: { token, newPassword } })).statusCode,
    204,
  );
  assert.equal((await login(u.email, newPassword)).statusCode, 200);
});

test('a good sign-in clears the account counter', async () => {
  const u = await t.registerUser('clear');
  await login(u.email, 'wrong 1');
  await login(u.email, 'wrong 2');
  assert.equal((await login(u.email, STRONG_PASSWORD)).statusCode, 200);
  const rows = await t.auth.services.db.query('select 1 from throttles where key = $1', [`acct:${u.email}`]);
  assert.equal(rows.rowCount, 0);
});

test('the stored hash is argon2id with the configured parameters', async () => {
  const u = await t.registerUser('hash');
  const r = await t.auth.services.db.query<{ h: string }>(
    'select password_hash as h from users where id = $1',
    [u.user.id],
  );
  assert.match(r.rows[0]?.h ?? '', /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
});
