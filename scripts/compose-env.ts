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
 * Billing runs on Stripe in production mode: pass your (test-mode) keys, or fill them in later;
 * Compose refuses to start while they are empty.
 *
 *   node scripts/compose-env.ts [--out FILE] [--force] [--stripe-secret-key sk_test_…] [--stripe-webhook-secret whsec_…]
 */

const { values } = parseArgs({
  options: {
    out: { type: 'string' },
    force: { type: 'boolean', default: false },
    'stripe-secret-key': { type: 'string', default: '' },
    'stripe-webhook-secret': { type: 'string', default: '' },
  },
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
  '# Billing: your Stripe keys (test mode will do; docs/billing.md). Compose refuses empty ones.',
  `STRIPE_SECRET_KEY=${values['stripe-secret-key']}`,
  `STRIPE_WEBHOOK_SECRETS=${values['stripe-webhook-secret']}`,
  '',
];
writeFileSync(out, lines.join('\n'), { mode: 0o600 });
console.log(`wrote ${out} (signing key ${key.kid})`);
if (values['stripe-secret-key'] === '' || values['stripe-webhook-secret'] === '') {
  console.log('fill in STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRETS there before docker compose up');
}
