import { join } from 'node:path';
import { type Database, type MigrationReport, runMigrations } from '@gatehouse/kit/service';

export const MIGRATIONS_DIR = join(import.meta.dirname, 'migrations');

export function migrate(db: Database): Promise<MigrationReport> {
  return runMigrations(db, MIGRATIONS_DIR);
}
