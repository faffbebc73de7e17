/**
 * Applies one service's database migrations and exits: what the chart's migration Job and an
 * operator run before new pods start (the services also migrate at start, under the same
 * advisory lock, so running both is safe). Which service: GATEHOUSE_SERVICE (the image sets
 * it); where: DATABASE_URL, required here (no PGlite fallback for a migration).
 *
 *   node /app/migrate.ts          # in the image, working directory /app
 */
import { join } from 'node:path';
import { describeDatabase, openDatabase, runMigrations } from '@gatehouse/kit/service';

const service = process.env.GATEHOUSE_SERVICE;
const url = process.env.DATABASE_URL;
if (service === undefined || !/^[a-z][a-z0-9-]*$/.test(service) || url === undefined || url === '') {
  process.stderr.write('migrate: GATEHOUSE_SERVICE (a service name) and DATABASE_URL are required\n');
  process.exit(2);
}
const config = { kind: 'postgres', url } as const;
const db = await openDatabase(config);
try {
  const report = await runMigrations(db, join(process.cwd(), 'packages', service, 'src', 'db', 'migrations'));
  process.stdout.write(
    `${service}: ${describeDatabase(config)}: applied ${report.applied.length} (${report.applied.join(', ') || 'none'}), ${report.alreadyApplied} already applied\n`,
  );
} finally {
  await db.close();
}
