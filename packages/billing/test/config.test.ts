import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { randomSecret } from '@gatehouse/kit/testing';
import { loadConfig } from '../src/config.ts';

const base = { GATEWAY_ASSERTION_SECRET: randomSecret() };
const stripe = {
  STRIPE_SECRET_KEY: `sk_live_${randomSecret()}`,
  STRIPE_WEBHOOK_SECRETS: `whsec_${randomSecret()}`,
};

function issues(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (err) {
    return (err as { issues?: string[] }).issues?.join('\n') ?? String(err);
  }
  return '';
}

describe('billing configuration', () => {
  it('runs the local provider in development with embedded defaults', () => {
    const config = loadConfig(base);
    assert.equal(config.provider.kind, 'local');
    assert.equal(config.port, 4003);
    assert.equal(config.graceDays, 7);
    assert.equal(config.database.kind, 'pglite');
  });

  it('production refuses a missing provider key or webhook secret, naming the variable', () => {
    const text = issues({ ...base, NODE_ENV: 'production', BILLING_PUBLIC_URL: 'https://app.example.com' });
    assert.match(text, /STRIPE_SECRET_KEY: is required/);
    assert.match(text, /STRIPE_WEBHOOK_SECRETS: is required/);
  });

  it('production refuses the local provider, weak secrets and development switches, all at once', () => {
    const text = issues({
      ...base,
      NODE_ENV: 'production',
      BILLING_PROVIDER: 'local',
      BILLING_DB_MEMORY: 'true',
      STRIPE_API_BASE: 'http://127.0.0.1:12111',
    });
    assert.match(text, /BILLING_PROVIDER: local completes every payment/);
    assert.match(text, /BILLING_DB_MEMORY: is development-only/);
    assert.match(text, /BILLING_PUBLIC_URL: is required in production/);
    assert.match(text, /STRIPE_API_BASE: is for tests/);
    const weak = issues({
      ...base,
      BILLING_PROVIDER: 'stripe',
      STRIPE_SECRET_KEY: 'changeme',
      STRIPE_WEBHOOK_SECRETS: 'secret,x',
    });
    assert.match(weak, /STRIPE_SECRET_KEY: secret is a well-known default/);
    assert.match(weak, /STRIPE_WEBHOOK_SECRETS: a secret/);
    assert.match(issues({}), /GATEWAY_ASSERTION_SECRET: is required/);
    assert.match(issues({ ...base, BILLING_GRACE_DAYS: '90' }), /BILLING_GRACE_DAYS/);
    assert.match(issues({ ...base, BILLING_TYPO: '1' }), /BILLING_TYPO/);
  });

  it('production with Stripe configured starts, with several webhook secrets for rotation', () => {
    const second = `whsec_${randomSecret()}`;
    const config = loadConfig({
      ...base,
      ...stripe,
      STRIPE_WEBHOOK_SECRETS: `${stripe.STRIPE_WEBHOOK_SECRETS}, ${second}`,
      NODE_ENV: 'production',
      BILLING_PUBLIC_URL: 'https://app.example.com',
    });
    assert.equal(config.provider.kind, 'stripe');
    assert.equal(config.provider.webhookSecrets.length, 2);
    assert.equal(config.provider.kind === 'stripe' && config.provider.apiBase, undefined);
  });
});
