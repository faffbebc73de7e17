import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { buildApp } from '../packages/auth/src/app.ts';
import { loadConfig } from '../packages/auth/src/config.ts';
import { createLogger } from '../packages/kit/src/index.ts';
import { startPostgres } from './backends.ts';

/**
 * A restore drill for the identity service's database (docs/disaster-recovery.md): builds a
 * database the way production does (auth's own migrate command), puts a real user in it
 * through the service and bulk rows beside it, backs it up with pg_dump, drops it (the
 * disaster), restores the dump into a new database with pg_restore, and proves the restore:
 * every table's row count and content fingerprint as before, no migration left to apply,
 * and the service, started on the restored database, signs the user in. Then it runs the
 * session revocation that docs/disaster-recovery.md prescribes after a point-in-time restore
 * (read from that page, so the page cannot drift) and proves the refresh token issued before
 * the backup no longer works. Prints each step's time and sizes.
 *
 *   node scripts/restore-drill.ts [--admin-url postgres://user@host:port/postgres] [--users 100000] [--json]
 *
 * Without --admin-url it starts a throwaway PostgreSQL server (scripts/backends.ts). The
 * admin URL's user must be allowed to create and drop databases. Databases it creates are
 * named gatehouse_drill_* and dropped at the end.
 */

const { values } = parseArgs({
  options: {
    'admin-url': { type: 'string' },
    users: { type: 'string', default: '100000' },
    json: { type: 'boolean', default: false },
  },
});
const USERS = Number(values.users);
if (!Number.isInteger(USERS) || USERS < 0) throw new Error('--users must be a whole number');

const ROOT = join(import.meta.dirname, '..');
const timings: Record<string, number> = {};
async function step<T>(name: string, fn: () => Promise<T> | T): Promise<T> {
  const started = performance.now();
  const result = await fn();
  timings[name] = Math.round(performance.now() - started);
  if (!values.json) console.log(`${name.padEnd(40)} ${String(timings[name]).padStart(7)} ms`);
  return result;
}

let adminUrl = values['admin-url'];
let stopServer: (() => void) | undefined;
if (adminUrl === undefined) {
  const server = await startPostgres();
  if (typeof server === 'string') throw new Error(server);
  adminUrl = server.env.GATEHOUSE_TEST_POSTGRES_URL as string;
  stopServer = () => server.stop();
}
const admin = new pg.Client({ connectionString: adminUrl });
await admin.connect();

const suffix = randomBytes(4).toString('hex');
const SOURCE = `gatehouse_drill_${suffix}_source`;
const RESTORED = `gatehouse_drill_${suffix}_restored`;
const urlOf = (database: string) => {
  const url = new URL(adminUrl as string);
  url.pathname = `/${database}`;
  return url.toString();
};
const work = mkdtempSync(join(tmpdir(), 'gatehouse-drill-'));
const dumpFile = join(work, 'auth.dump');

/** pg_dump and pg_restore of the server's major version (Debian keeps one folder per version). */
async function clientBin(name: string): Promise<string> {
  const { rows } = await admin.query<{ v: string }>("select current_setting('server_version_num') as v");
  const major = Math.floor(Number(rows[0]?.v) / 10_000);
  const debian = `/usr/lib/postgresql/${major}/bin/${name}`;
  return existsSync(debian) ? debian : name;
}

const serviceEnv = (database: string) => ({
  NODE_ENV: 'test',
  LOG_LEVEL: 'warn',
  DATABASE_URL: urlOf(database),
  GATEWAY_ASSERTION_SECRET: randomBytes(32).toString('base64url'),
  AUTH_DATA_DIR: join(work, 'auth-data'),
  AUTH_CLIENT_MAX_FAILURES: '10000',
});

function migrate(database: string): string {
  const result = spawnSync(process.execPath, [join(ROOT, 'packages/auth/src/cli.ts'), 'migrate'], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '', ...serviceEnv(database) },
  });
  if (result.status !== 0) throw new Error(`auth migrate failed: ${result.stderr}`);
  return result.stdout.trim();
}

async function withAuth<T>(database: string, fn: (inject: AuthInject) => Promise<T>): Promise<T> {
  const config = loadConfig(serviceEnv(database));
  const auth = await buildApp(config, { logger: createLogger({ service: 'auth', level: 'warn' }) });
  try {
    return await fn((url, payload) => auth.app.inject({ method: 'POST', url, payload }));
  } finally {
    await auth.close();
  }
}
type AuthInject = (
  url: string,
  payload: object,
) => Promise<{ statusCode: number; json(): Record<string, unknown> }>;

/** Row count and an order-independent digest of every table's content. */
async function fingerprint(database: string): Promise<Record<string, string>> {
  const client = new pg.Client({ connectionString: urlOf(database) });
  await client.connect();
  try {
    const tables = await client.query<{ t: string }>(
      "select tablename as t from pg_tables where schemaname = 'public' order by 1",
    );
    const out: Record<string, string> = {};
    for (const { t } of tables.rows) {
      const { rows } = await client.query<{ n: string; digest: string | null }>(
        `select count(*) as n, md5(string_agg(md5(x::text), '' order by md5(x::text))) as digest from "${t}" x`,
      );
      out[t] = `${rows[0]?.n} rows ${rows[0]?.digest ?? '-'}`;
    }
    return out;
  } finally {
    await client.end();
  }
}

/** The SQL block of docs/disaster-recovery.md that revokes every session after a restore. */
function revokeSessionsSql(): string {
  const page = readFileSync(join(ROOT, 'docs/disaster-recovery.md'), 'utf8');
  const block = /```sql\n(-- on the restored auth database[\s\S]*?)```/.exec(page)?.[1];
  if (block === undefined)
    throw new Error('docs/disaster-recovery.md: the session revocation SQL is missing');
  return block;
}

const email = `drill-${suffix}@example.com`;
const password = `restore-drill-${randomBytes(12).toString('hex')}`;
let report: Record<string, unknown> = {};
try {
  await step('create source database', () => admin.query(`create database ${SOURCE}`));
  const migrated = await step('migrate (auth cli)', () => migrate(SOURCE));
  const sessions = await step('sign up a user, two sessions', () =>
    withAuth(SOURCE, async (post) => {
      const answer = await post('/api/auth/register', {
        email,
        password,
        name: 'Drill',
        tenantName: 'Drill',
      });
      if (answer.statusCode !== 201) throw new Error(`register answered ${answer.statusCode}`);
      // A second session: after the restore it shows the danger (a pre-backup token still works).
      const second = await post('/api/auth/login', { email, password });
      if (second.statusCode !== 200) throw new Error(`login answered ${second.statusCode}`);
      return { first: answer.json().refreshToken as string, second: second.json().refreshToken as string };
    }),
  );
  await step(`bulk rows (${USERS} users)`, async () => {
    const client = new pg.Client({ connectionString: urlOf(SOURCE) });
    await client.connect();
    try {
      await client.query(
        `insert into users (id, email, email_normalized, name, password_hash)
         select gen_random_uuid(), 'u' || i || '@drill.example', 'u' || i || '@drill.example', 'User ' || i,
                (select password_hash from users limit 1)
         from generate_series(1, $1::int) i`,
        [USERS],
      );
      await client.query(
        `insert into tenants (id, name) select gen_random_uuid(), 'Tenant ' || i from generate_series(1, greatest($1::int / 10, 1)) i`,
        [USERS],
      );
      await client.query(
        `insert into memberships (tenant_id, user_id, role)
         select t.id, u.id, 'member' from (select id, row_number() over () as r from users) u
         join (select id, row_number() over () as r from tenants) t on t.r = (u.r % greatest($1::int / 10, 1)) + 1
         on conflict do nothing`,
        [USERS],
      );
      await client.query(
        `insert into revocations (kind, subject, at) select 'jti', md5(i::text), 2000000000 from generate_series(1, $1::int) i`,
        [USERS],
      );
      await client.query('analyze');
    } finally {
      await client.end();
    }
  });
  const before = await step('fingerprint source', () => fingerprint(SOURCE));
  const dump = await clientBin('pg_dump');
  await step('backup (pg_dump -Fc)', () =>
    execFileSync(dump, [
      '--format=custom',
      '--compress=6',
      '--no-owner',
      `--file=${dumpFile}`,
      urlOf(SOURCE),
    ]),
  );
  await step('disaster (drop source database)', () => admin.query(`drop database ${SOURCE} with (force)`));
  await step('create empty database', () => admin.query(`create database ${RESTORED}`));
  const restore = await clientBin('pg_restore');
  await step('restore (pg_restore -j 2)', () =>
    execFileSync(restore, [
      '--no-owner',
      '--no-privileges',
      '--exit-on-error',
      '--jobs=2',
      `--dbname=${urlOf(RESTORED)}`,
      dumpFile,
    ]),
  );
  const after = await step('fingerprint restored', () => fingerprint(RESTORED));
  const mismatched = Object.keys({ ...before, ...after }).filter((t) => before[t] !== after[t]);
  if (mismatched.length > 0) throw new Error(`restored tables differ: ${mismatched.join(', ')}`);
  const remigrated = await step('migrate restored (nothing to do)', () => migrate(RESTORED));
  if (!/applied 0 \(none\)/.test(remigrated))
    throw new Error(`migrations were missing after restore: ${remigrated}`);
  await step('sign in on the restored database', () =>
    withAuth(RESTORED, async (post) => {
      const answer = await post('/api/auth/login', { email, password });
      if (answer.statusCode !== 200 || typeof answer.json().accessToken !== 'string') {
        throw new Error(`login after restore answered ${answer.statusCode}`);
      }
    }),
  );
  await step('a pre-backup session still refreshes', () =>
    withAuth(RESTORED, async (post) => {
      const refreshed = await post('/api/auth/refresh', { refreshToken: sessions.second });
      if (refreshed.statusCode !== 200)
        throw new Error(`the control refresh answered ${refreshed.statusCode}`);
    }),
  );
  await step('revoke sessions (disaster-recovery.md)', async () => {
    const client = new pg.Client({ connectionString: urlOf(RESTORED) });
    await client.connect();
    try {
      await client.query(revokeSessionsSql());
    } finally {
      await client.end();
    }
    await withAuth(RESTORED, async (post) => {
      const refreshed = await post('/api/auth/refresh', { refreshToken: sessions.first });
      if (refreshed.statusCode !== 401)
        throw new Error(`a pre-restore refresh token answered ${refreshed.statusCode}`);
      const again = await post('/api/auth/login', { email, password });
      if (again.statusCode !== 200)
        throw new Error(`sign-in after revoking sessions answered ${again.statusCode}`);
    });
  });
  const restoreMs = (timings['create empty database'] ?? 0) + (timings['restore (pg_restore -j 2)'] ?? 0);
  report = {
    ok: true,
    postgres: (await admin.query<{ v: string }>("select current_setting('server_version') as v")).rows[0]?.v,
    users: USERS,
    tables: after,
    dumpBytes: statSync(dumpFile).size,
    migrated,
    timingsMs: timings,
    backupMs: timings['backup (pg_dump -Fc)'],
    restoreMs,
    verifyMs:
      (timings['fingerprint restored'] ?? 0) +
      (timings['migrate restored (nothing to do)'] ?? 0) +
      (timings['sign in on the restored database'] ?? 0),
  };
  if (values.json) console.log(JSON.stringify(report));
  else {
    console.log(`\nrestore drill passed: PostgreSQL ${report.postgres}, dump ${report.dumpBytes} bytes`);
    for (const [table, print] of Object.entries(after)) console.log(`  ${table.padEnd(24)} ${print}`);
    console.log(`backup ${report.backupMs} ms, restore ${restoreMs} ms, verification ${report.verifyMs} ms`);
  }
} finally {
  for (const database of [SOURCE, RESTORED]) {
    await admin.query(`drop database if exists ${database} with (force)`).catch(() => undefined);
  }
  await admin.end();
  rmSync(work, { recursive: true, force: true });
  stopServer?.();
}
