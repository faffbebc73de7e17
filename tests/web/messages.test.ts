import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { authErrors } from '../../packages/auth/src/errors.ts';
import { billErrors } from '../../packages/billing/src/errors.ts';
import { chatErrors } from '../../packages/chat/src/errors.ts';
import { gatewayErrors } from '../../packages/gateway/src/errors.ts';
import { MESSAGES, messageFor } from '../../packages/web/app/src/api/messages.ts';
import { webErrors } from '../../packages/web/src/errors.ts';

/**
 * Every code the gateway and the services can answer with has a sentence in
 * the app that says what to do, not a raw code or a title meant for
 * developers.
 */
const TABLES = {
  gateway: gatewayErrors.table,
  auth: authErrors.table,
  chat: chatErrors.table,
  billing: billErrors.table,
  web: webErrors.table,
};

describe('the web app’s error sentences', () => {
  for (const [name, table] of Object.entries(TABLES)) {
    it(`cover every ${name} code`, () => {
      const missing = Object.keys(table).filter((code) => MESSAGES[code] === undefined);
      assert.deepEqual(missing, [], `codes without a sentence in packages/web/app/src/api/messages.ts`);
    });
  }

  it('are sentences, and none is a code or a bare title', () => {
    for (const code of Object.keys(MESSAGES)) {
      const text = messageFor(code, { status: 400 });
      assert.match(text, /^[A-Z].*[.!?]$/s, `${code}: "${text}"`);
      assert.doesNotMatch(text, /[A-Z]+_[A-Z_]+/, `${code} leaks a code`);
    }
  });

  it('say when to retry a rate-limited call, from Retry-After', () => {
    assert.equal(
      messageFor('GW_RATE_LIMITED', { retryAfterSeconds: 30 }),
      'You are doing that too often. Try again in 30 seconds.',
    );
    assert.match(
      messageFor('AUTH_TOO_MANY_ATTEMPTS', { retryAfterSeconds: 600 }),
      /Try again in 10 minutes\./,
    );
    assert.match(messageFor('GW_RATE_LIMITED'), /Wait a moment/);
  });

  it('document every WEB_* code with its status in docs/errors.md', () => {
    const doc = readFileSync(join(import.meta.dirname, '../../docs/errors.md'), 'utf8');
    const section = doc.split('\n## web\n')[1]?.split('\n## ')[0];
    assert.ok(section, 'docs/errors.md has a "## web" section');
    for (const [code, spec] of Object.entries(webErrors.table)) {
      assert.match(section, new RegExp(`\\| ${code} \\| ${spec.status} \\|`), `${code} is not documented`);
    }
  });

  it('fall back to the status for a code this version does not know', () => {
    assert.match(messageFor('CHAT_SOMETHING_NEW', { status: 409 }), /Reload and try again/);
    assert.match(messageFor('X', { status: 503 }), /went wrong on our side/);
  });
});
