import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { randomSecret } from '@gatehouse/kit/testing';
import { loadConfig } from '../src/config.ts';
import { STARTUP, startChat, type TestChat } from './helpers.ts';

const problems = (env: Record<string, string>): string[] => {
  try {
    loadConfig(env);
  } catch (err) {
    return (err as { issues: string[] }).issues;
  }
  return [];
};

describe('chat configuration', () => {
  it('has no fallback secret, refuses typos and development settings in production, all at once', () => {
    assert.ok(problems({}).some((p) => p.startsWith('GATEWAY_ASSERTION_SECRET')));
    const issues = problems({
      NODE_ENV: 'production',
      GATEWAY_ASSERTION_SECRET: randomSecret(),
      CHAT_DB_MEMORY: 'true',
      CHAT_MAX_MESAGE_BYTES: '1',
      CHAT_WS_PING_SECONDS: '0',
    });
    for (const name of [
      'CHAT_DB_MEMORY',
      'CHAT_PUBLIC_URL',
      'CHAT_MAX_MESAGE_BYTES',
      'CHAT_WS_PING_SECONDS',
    ]) {
      assert.ok(
        issues.some((p) => p.includes(name)),
        `${name} in ${issues.join(' | ')}`,
      );
    }
    const config = loadConfig({ GATEWAY_ASSERTION_SECRET: randomSecret() });
    assert.equal(config.port, 4002);
    assert.equal(config.maxMessageBytes, 16 * 1024);
    assert.equal(config.database.kind, 'pglite');
  });

  it('usage reporting off without CHAT_BILLING_URL, its flush interval only with it; the revocation feed off without CHAT_AUTH_URL', () => {
    const secret = randomSecret();
    assert.equal(loadConfig({ GATEWAY_ASSERTION_SECRET: secret }).usage, undefined);
    assert.equal(loadConfig({ GATEWAY_ASSERTION_SECRET: secret }).authUrl, undefined);
    assert.equal(
      loadConfig({ GATEWAY_ASSERTION_SECRET: secret, CHAT_AUTH_URL: 'http://auth:4001' }).authUrl,
      'http://auth:4001',
    );
    const withBilling = loadConfig({
      GATEWAY_ASSERTION_SECRET: secret,
      CHAT_BILLING_URL: 'http://billing:4003',
    });
    assert.equal(withBilling.billingUrl, 'http://billing:4003');
    assert.deepEqual(withBilling.usage, { flushMs: 2_000 });
    assert.equal(loadConfig({ GATEWAY_ASSERTION_SECRET: secret }).billingUrl, undefined);
    const issues = problems({
      GATEWAY_ASSERTION_SECRET: secret,
      CHAT_USAGE_FLUSH_MS: '500',
    });
    assert.ok(
      issues.some((p) => p.startsWith('CHAT_USAGE_FLUSH_MS')),
      issues.join(' | '),
    );
    const bad = problems({
      GATEWAY_ASSERTION_SECRET: secret,
      CHAT_BILLING_URL: 'ftp://billing',
      CHAT_AUTH_URL: 'auth:4001',
      CHAT_USAGE_FLUSH_MS: '10',
    });
    for (const name of ['CHAT_BILLING_URL', 'CHAT_AUTH_URL', 'CHAT_USAGE_FLUSH_MS'])
      assert.ok(
        bad.some((p) => p.startsWith(name)),
        `${name} in ${bad.join(' | ')}`,
      );
  });
});

describe('chat OpenAPI', () => {
  let t: TestChat;
  before(async () => {
    t = await startChat();
  }, STARTUP);
  after(() => t?.close());

  it('serves the document and the interactive page without a token', async () => {
    const doc = await t.call('GET', '/api/chat/openapi.json');
    assert.equal(doc.statusCode, 200);
    const paths = Object.keys(doc.json().paths);
    for (const path of [
      '/api/chat/conversations',
      '/api/chat/conversations/{id}/messages',
      '/api/chat/conversations/{id}/messages/{messageId}/reactions/{emoji}',
      '/api/chat/search',
    ]) {
      assert.ok(paths.includes(path), `${path} in ${paths.join(', ')}`);
    }
    assert.ok(!paths.includes('/live') && !paths.includes('/metrics'));
    const page = await t.call('GET', '/api/chat/docs/');
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /swagger/i);
  });
});
