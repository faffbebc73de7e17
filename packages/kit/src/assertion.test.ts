import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  ASSERTION_ISSUER,
  ASSERTION_LIFETIME_S,
  ASSERTION_TYP,
  type AssertedIdentity,
  type AssertionBinding,
  createAssertionSigner,
  createAssertionVerifier,
} from './assertion.ts';
import { randomSecret } from './testing.ts';

const keyA = { kid: 'key-a', secret: randomSecret() };
const keyB = { kid: 'key-b', secret: randomSecret() };
const identity: AssertedIdentity = {
  sub: 'user-1',
  tid: 'tenant-9',
  roles: ['agent', 'admin'],
  jti: 'tok-77',
};
const binding: AssertionBinding = { method: 'POST', path: '/tickets/42/replies', requestId: 'req-abc' };
const NOW = 1_800_000_000;

const b64 = (value: unknown) =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
const decode = (part: string) =>
  JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
const hs256 = (input: string, secret: string) =>
  createHmac('sha256', secret).update(input).digest('base64url');

/** A token signed with `secret` over the given header and payload, as an attacker or a bug would make it. */
function craft(header: unknown, payload: unknown, secret: string): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${hs256(input, secret)}`;
}

function claims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    iss: ASSERTION_ISSUER,
    sub: 'user-1',
    tid: 'tenant-9',
    roles: ['agent'],
    rid: binding.requestId,
    htm: binding.method,
    htu: binding.path,
    iat: NOW,
    exp: NOW + 60,
    ...overrides,
  };
}

const ourHeader = (kid: string) => ({ alg: 'HS256', typ: ASSERTION_TYP, kid });

function reason(result: ReturnType<ReturnType<typeof createAssertionVerifier>>): string {
  return result.ok ? 'ok' : result.reason;
}

describe('identity assertion', () => {
  const sign = createAssertionSigner([keyA]);
  const verify = createAssertionVerifier([keyA]);

  it('round-trips: what the gateway signs, a service verifies', () => {
    const token = sign(identity, binding, NOW);
    const result = verify(token, binding, NOW + 10);
    assert.deepEqual(result, { ok: true, identity });
  });

  it('signs a compact HS256 JWS with our typ, the kid, and claims bound to the request', () => {
    const token = sign(identity, binding, NOW);
    const [header, payload, signature] = token.split('.') as [string, string, string];
    assert.deepEqual(decode(header), { alg: 'HS256', typ: ASSERTION_TYP, kid: 'key-a' });
    assert.deepEqual(decode(payload), {
      iss: ASSERTION_ISSUER,
      sub: 'user-1',
      tid: 'tenant-9',
      roles: ['agent', 'admin'],
      jti: 'tok-77',
      rid: 'req-abc',
      htm: 'POST',
      htu: '/tickets/42/replies',
      iat: NOW,
      exp: NOW + ASSERTION_LIFETIME_S,
    });
    assert.equal(signature, hs256(`${header}.${payload}`, keyA.secret));
  });

  it('uses the current time by default', () => {
    const token = sign({ sub: 'u', tid: 't', roles: [] }, binding);
    const payload = decode(token.split('.')[1] as string);
    const now = Math.floor(Date.now() / 1000);
    assert.ok(Math.abs((payload.iat as number) - now) <= 2);
    const result = verify(token, binding);
    assert.equal(result.ok, true);
    assert.deepEqual(result.ok && result.identity, { sub: 'u', tid: 't', roles: [], jti: undefined });
  });

  it("carries the access token's expiry as tokenExp, and verifies it back", () => {
    const withExp: AssertedIdentity = { ...identity, tokenExp: NOW + 900 };
    const token = sign(withExp, binding, NOW);
    const payload = decode(token.split('.')[1] as string);
    assert.equal(payload.tokenExp, NOW + 900);
    // The assertion's own lifetime is unchanged: tokenExp is information, not a validity window.
    assert.equal(payload.exp, NOW + ASSERTION_LIFETIME_S);
    assert.deepEqual(verify(token, binding, NOW), { ok: true, identity: withExp });
  });

  it('still verifies an assertion without tokenExp, as older gateways sign it, to the same shape', () => {
    const old = craft(ourHeader('key-a'), claims({ jti: 'tok-1' }), keyA.secret);
    const result = verify(old, binding, NOW);
    assert.deepEqual(result, {
      ok: true,
      identity: { sub: 'user-1', tid: 'tenant-9', roles: ['agent'], jti: 'tok-1' },
    });
    assert.equal(result.ok && 'tokenExp' in result.identity, false);
  });

  it('refuses a signed tokenExp that is not a whole number of seconds', () => {
    for (const tokenExp of ['1800000900', 1.5, null, Number.MAX_VALUE]) {
      const token = craft(ourHeader('key-a'), claims({ tokenExp }), keyA.secret);
      assert.equal(reason(verify(token, binding, NOW)), 'bad_claims', String(tokenExp));
    }
  });

  it('requires a key to sign with', () => {
    assert.throws(() => createAssertionSigner([]), /at least one key/);
  });

  it('refuses a missing assertion', () => {
    assert.equal(reason(verify(undefined, binding, NOW)), 'missing');
  });

  it('refuses malformed assertions', () => {
    const token = sign(identity, binding, NOW);
    for (const bad of [
      '',
      'abc',
      'a.b',
      `${token}.extra`,
      [token, token],
      [token],
      `${token.split('.')[0]}.${'x'.repeat(9000)}.sig`,
    ]) {
      assert.equal(reason(verify(bad, binding, NOW)), 'malformed', String(bad).slice(0, 40));
    }
  });

  it('refuses a correctly signed payload that is not JSON', () => {
    const header = b64(ourHeader('key-a'));
    const body = b64('not json {');
    const token = `${header}.${body}.${hs256(`${header}.${body}`, keyA.secret)}`;
    assert.equal(reason(verify(token, binding, NOW)), 'malformed');
  });

  it('refuses a header it did not issue: another kid, alg none, another typ, or re-encoded', () => {
    const token = sign(identity, binding, NOW);
    const [, body, signature] = token.split('.') as [string, string, string];
    const headers = [
      ourHeader('key-z'),
      { alg: 'none', typ: ASSERTION_TYP, kid: 'key-a' },
      { alg: 'HS512', typ: ASSERTION_TYP, kid: 'key-a' },
      { alg: 'HS256', typ: 'JWT', kid: 'key-a' },
      { kid: 'key-a', alg: 'HS256', typ: ASSERTION_TYP },
      { alg: 'HS256', typ: ASSERTION_TYP, kid: 'key-a', jku: 'https://evil.test/keys' },
    ];
    for (const header of headers) {
      assert.equal(
        reason(verify(`${b64(header)}.${body}.${signature}`, binding, NOW)),
        'unknown_key',
        JSON.stringify(header),
      );
    }
    // Valid assertions from a key the service does not hold.
    const other = createAssertionSigner([keyB])(identity, binding, NOW);
    assert.equal(reason(verify(other, binding, NOW)), 'unknown_key');
  });

  it('refuses an attacker token with alg none and an empty signature', () => {
    const forged = `${b64({ alg: 'none', typ: ASSERTION_TYP, kid: 'key-a' })}.${b64(claims({ roles: ['admin'] }))}.`;
    assert.equal(reason(verify(forged, binding, NOW)), 'unknown_key');
    const noneNoKid = `${b64({ alg: 'none' })}.${b64(claims())}.`;
    assert.equal(reason(verify(noneNoKid, binding, NOW)), 'unknown_key');
  });

  it('refuses an attacker token with our exact header, signed HS256 with another secret', () => {
    const forged = craft(ourHeader('key-a'), claims({ roles: ['admin'] }), randomSecret());
    assert.equal(reason(verify(forged, binding, NOW)), 'bad_signature');
    const guessed = craft(ourHeader('key-a'), claims(), 'secret');
    assert.equal(reason(verify(guessed, binding, NOW)), 'bad_signature');
  });

  it('refuses a tampered payload', () => {
    const token = sign(identity, binding, NOW);
    const [header, , signature] = token.split('.') as [string, string, string];
    const escalated = b64({ ...decode(token.split('.')[1] as string), roles: ['owner'] });
    assert.equal(reason(verify(`${header}.${escalated}.${signature}`, binding, NOW)), 'bad_signature');
    const otherTenant = b64({ ...decode(token.split('.')[1] as string), tid: 'tenant-1' });
    assert.equal(reason(verify(`${header}.${otherTenant}.${signature}`, binding, NOW)), 'bad_signature');
  });

  it('refuses a tampered, truncated or missing signature', () => {
    const token = sign(identity, binding, NOW);
    const [header, body, signature] = token.split('.') as [string, string, string];
    const middle = Math.floor(signature.length / 2);
    const flipped = `${signature.slice(0, middle)}${signature[middle] === 'A' ? 'B' : 'A'}${signature.slice(middle + 1)}`;
    for (const bad of [flipped, signature.slice(0, -4), '', `${signature}AAAA`]) {
      assert.equal(reason(verify(`${header}.${body}.${bad}`, binding, NOW)), 'bad_signature', bad);
    }
  });

  it('refuses an expired assertion, and one issued in the future, beyond the clock tolerance', () => {
    const token = sign(identity, binding, NOW);
    assert.equal(
      reason(verify(token, binding, NOW + ASSERTION_LIFETIME_S + 5)),
      'ok',
      'within the 5 s tolerance',
    );
    assert.equal(reason(verify(token, binding, NOW + ASSERTION_LIFETIME_S + 6)), 'expired');
    assert.equal(reason(verify(token, binding, NOW - 5)), 'ok');
    assert.equal(reason(verify(token, binding, NOW - 6)), 'expired');
    const strict = createAssertionVerifier([keyA], { clockToleranceSeconds: 0 });
    assert.equal(reason(strict(token, binding, NOW + ASSERTION_LIFETIME_S)), 'ok');
    assert.equal(reason(strict(token, binding, NOW + ASSERTION_LIFETIME_S + 1)), 'expired');
  });

  it('refuses an assertion made for another request', () => {
    const token = sign(identity, binding, NOW);
    for (const other of [
      { ...binding, method: 'DELETE' },
      { ...binding, method: 'post' },
      { ...binding, path: '/tickets/43/replies' },
      { ...binding, path: '/tickets/42/replies/' },
      { ...binding, requestId: 'req-other' },
    ]) {
      assert.equal(reason(verify(token, other, NOW)), 'wrong_request', JSON.stringify(other));
    }
  });

  it('refuses correctly signed assertions with bad claims', () => {
    const cases: Record<string, unknown>[] = [
      claims({ iss: 'someone-else' }),
      claims({ iss: undefined }),
      claims({ sub: 42 }),
      claims({ tid: undefined }),
      claims({ roles: 'admin' }),
      claims({ roles: ['agent', 7] }),
      claims({ exp: String(NOW + 60) }),
      claims({ iat: undefined }),
    ];
    for (const payload of cases) {
      assert.equal(
        reason(verify(craft(ourHeader('key-a'), payload, keyA.secret), binding, NOW)),
        'bad_claims',
        JSON.stringify(payload),
      );
    }
    // Valid JSON that is not an object (`craft` sends strings as they are).
    for (const json of ['null', '"a string"', '42', '[]', 'true']) {
      assert.equal(
        reason(verify(craft(ourHeader('key-a'), json, keyA.secret), binding, NOW)),
        'bad_claims',
        json,
      );
    }
    assert.equal(reason(verify(craft(ourHeader('key-a'), claims(), keyA.secret), binding, NOW)), 'ok');
  });

  it('supports key rotation: the first key signs, every listed key verifies', () => {
    const oldSigner = createAssertionSigner([keyA]);
    const newSigner = createAssertionSigner([keyB, keyA]);
    const rotating = createAssertionVerifier([keyB, keyA]);
    const onlyNew = createAssertionVerifier([keyB]);

    const fromOld = oldSigner(identity, binding, NOW);
    assert.equal(reason(rotating(fromOld, binding, NOW)), 'ok');
    assert.equal(reason(onlyNew(fromOld, binding, NOW)), 'unknown_key');

    const fromNew = newSigner(identity, binding, NOW);
    assert.equal(decode(fromNew.split('.')[0] as string).kid, 'key-b');
    assert.equal(reason(rotating(fromNew, binding, NOW)), 'ok');
    assert.equal(reason(onlyNew(fromNew, binding, NOW)), 'ok');
    assert.equal(reason(verify(fromNew, binding, NOW)), 'unknown_key');
  });

  it('refuses a token whose kid names one key but is signed with another', () => {
    const both = createAssertionVerifier([keyA, keyB]);
    const mixed = craft(ourHeader('key-a'), claims(), keyB.secret);
    assert.equal(reason(both(mixed, binding, NOW)), 'bad_signature');
  });
});
