import assert from 'node:assert/strict';
import { test } from 'node:test';
import { commonPasswordCount, passwordProblem } from '../src/domain/passwords.ts';

const policy = { minLength: 15, maxLength: 128, argon2: { memoryCost: 1024, timeCost: 1, parallelism: 1 } };

test('the shipped blocklist holds thousands of common and breached passwords', () => {
  assert.ok(commonPasswordCount() > 5000, String(commonPasswordCount()));
});

test('NIST 800-63B: length rules, no composition rules, blocklist, email, sequences', () => {
  assert.equal(passwordProblem('all lower case words only', policy), undefined, 'no composition rules');
  assert.equal(passwordProblem('ünïcödé pässwörd ✓ 🙂 ok', policy), undefined, 'any character');
  assert.equal(passwordProblem('river stone hat', policy), undefined, 'exactly the minimum');
  assert.match(passwordProblem('fourteen chars', policy) ?? '', /at least 15/);
  assert.equal(
    passwordProblem('a b c d e f g h i j k l m n o p q r s t u v w x y z 0 1 2 3 4 5', policy),
    undefined,
    '64 allowed',
  );
  assert.match(passwordProblem('z'.repeat(129), policy) ?? '', /at most 128/);
  assert.match(passwordProblem('qwertyuiopasdfgh', policy) ?? '', /common/);
  assert.match(passwordProblem('Password123456789', policy) ?? '', /common/);
  assert.match(passwordProblem('aaaaaaaaaaaaaaaaaa', policy) ?? '', /repetition|common/);
  assert.match(passwordProblem('abcdefghijklmnopq', policy) ?? '', /sequence|common/);
  assert.match(
    passwordProblem('my name is jonathan.smith!', policy, { email: 'jonathan.smith@example.com' }) ?? '',
    /email/,
  );
  assert.equal(passwordProblem('short', { ...policy, minLength: 8 }), 'must be at least 8 characters');
});
