import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

const root = join(import.meta.dirname, '..', '..');
const main = join(root, 'packages/billing/src/main.ts');

function run(env: Record<string, string>): Promise<{ code: number | null; output: string; url?: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [main], {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: 'pipe',
    });
    let output = '';
    const listening = () => /"url":"(http:\/\/[^"]+)","msg":"billing: listening"/.exec(output)?.[1];
    let stopping = false;
    const onData = (chunk: Buffer) => {
      output += chunk;
      if (!stopping && listening() !== undefined) {
        stopping = true;
        child.kill('SIGTERM');
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('close', (code) => resolve({ code, output, url: listening() }));
  });
}

const secret = randomBytes(32).toString('base64url');

describe('the billing process', { timeout: 120_000 }, () => {
  it('production without the provider key or webhook secret refuses to start, naming each variable', async () => {
    const result = await run({
      NODE_ENV: 'production',
      GATEWAY_ASSERTION_SECRET: secret,
      BILLING_PUBLIC_URL: 'https://app.example.com',
      BILLING_DATA_DIR: mkdtempSync(join(tmpdir(), 'gh-billing-start-')),
    });
    assert.equal(result.code, 1);
    assert.match(result.output, /STRIPE_SECRET_KEY/);
    assert.match(result.output, /STRIPE_WEBHOOK_SECRETS/);
    assert.doesNotMatch(result.output, new RegExp(secret), 'no secret in the output');
  });

  it('starts in development with the local provider and stops on SIGTERM', async () => {
    const result = await run({
      GATEWAY_ASSERTION_SECRET: secret,
      BILLING_PORT: '0',
      BILLING_DB_MEMORY: 'true',
      BILLING_DATA_DIR: mkdtempSync(join(tmpdir(), 'gh-billing-start-')),
    });
    assert.ok(result.url, result.output);
    assert.equal(result.code, 0, result.output);
    assert.match(result.output, /"provider":"local"/);
  });
});
