#!/usr/bin/env node
/**
 * Operator commands:
 *   node packages/auth/src/cli.ts migrate       apply the database migrations
 *   node packages/auth/src/cli.ts rotate-keys   publish a new signing key that signs after the publish lead
 *
 * Output goes to stdout as plain lines (this is a command, not the service).
 */
import { describeDatabase, exitOnConfigError, openDatabase, runMigrations } from '@gatehouse/kit/service';
import { MIGRATIONS_DIR } from './app.ts';
import { type AuthConfig, loadConfig, MAX_ACCESS_TTL_SECONDS } from './config.ts';
import { generateStoredKey, keyDir, rotateKeyDir } from './domain/keys.ts';

const out = (line: string) => process.stdout.write(`${line}\n`);
const command = process.argv[2];

let config: AuthConfig;
try {
  config = loadConfig(process.env);
} catch (err) {
  exitOnConfigError(err, 'auth cli');
}

switch (command) {
  case 'migrate': {
    const db = await openDatabase(config.database);
    try {
      const report = await runMigrations(db, MIGRATIONS_DIR);
      out(
        `${describeDatabase(config.database)}: applied ${report.applied.length} (${report.applied.join(', ') || 'none'}), ${report.alreadyApplied} already applied`,
      );
    } finally {
      await db.close();
    }
    break;
  }
  case 'rotate-keys': {
    const lead = config.tokens.keyPublishLeadSeconds;
    if (config.signingKeys !== undefined) {
      // Production keys live in configuration: print the entry to add to AUTH_SIGNING_KEYS, and what to change.
      const key = generateStoredKey(Math.floor(Date.now() / 1000) + lead);
      out(
        'Add this entry to AUTH_SIGNING_KEYS, set "retireAt" of the current key to the same signFrom, and deploy:',
      );
      out(JSON.stringify({ jwk: key.jwk, signFrom: key.signFrom }));
      break;
    }
    const result = rotateKeyDir(keyDir(config.dataDir), lead, MAX_ACCESS_TTL_SECONDS);
    out(
      `new key ${result.added.kid} is published now and signs from ${new Date(result.added.signFrom * 1000).toISOString()}`,
    );
    if (result.retired.length > 0) out(`retiring at that time: ${result.retired.join(', ')}`);
    if (result.removed.length > 0) out(`removed expired keys: ${result.removed.join(', ')}`);
    break;
  }
  default:
    out('usage: node packages/auth/src/cli.ts <migrate|rotate-keys>');
    process.exit(command === undefined || command === 'help' ? 0 : 1);
}
