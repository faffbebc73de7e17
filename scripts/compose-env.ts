import { randomBytes } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { generateStoredKey } from '../packages/auth/src/domain/keys.ts';

/**
 * Writes the secrets file of deploy/compose.yaml (deploy/.env by default): a fresh random
 * value for every secret and a fresh Ed25519 signing key for auth. Refuses to overwrite an
 * existing file (its keys sign live tokens) unless --force. The file is readable by its
 * owner only and ignored by git (deploy/.gitignore).
 *
 *   node scripts/compose-env.ts [--out FILE] [--force]
 */

const { values } = parseArgs({
  options: { out: { type: 'string' }, force: { type: 'boolean', default: false } },
});
const out = values.out ?? join(import.meta.dirname, '..', 'deploy', '.env');
if (existsSync(out) && !values.force) {
  console.error(`${out} exists; its signing key may have issued live tokens. --force replaces it.`);
  process.exit(1);
}

const secret = (bytes = 32) => randomBytes(bytes).toString('base64url');
const key = generateStoredKey(Math.floor(Date.now() / 1000));
const lines = [
  '# Secrets of deploy/compose.yaml, written by scripts/compose-env.ts. Never commit this file.',
  `GATEWAY_ASSERTION_SECRET=${secret(48)}`,
  `REDIS_PASSWORD=${secret()}`,
  `POSTGRES_PASSWORD=${secret()}`,
  `AUTH_DB_PASSWORD=${secret()}`,
  `CHAT_DB_PASSWORD=${secret()}`,
  `BILLING_DB_PASSWORD=${secret()}`,
  `GRAFANA_ADMIN_PASSWORD=${secret(18)}`,
  '# Private JWKs that sign access tokens (docs/authentication.md, key rotation).',
  `AUTH_SIGNING_KEYS='${JSON.stringify([{ jwk: key.jwk, signFrom: key.signFrom }])}'`,
  '# Billing: the payment provider, when you have an account.',
  'STRIPE_SECRET_KEY=',
  'STRIPE_WEBHOOK_SECRET=',
  '',
];
writeFileSync(out, lines.join('\n'), { mode: 0o600 });
console.log(`wrote ${out} (signing key ${key.kid})`);
