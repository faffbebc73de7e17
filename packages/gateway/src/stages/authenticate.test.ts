import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isProblemError, type ProblemError } from '@gatehouse/kit';
import { captureLogger, randomSecret } from '@gatehouse/kit/testing';
import { generateTestKeys, signToken } from '../../test/harness.ts';
import { loadGatewayConfig } from '../config/load.ts';
import { TokenVerifier } from '../identity/verifier.ts';
import { contextFor } from '../test-context.ts';
import {
  BEARER_CHALLENGE,
  createAuthenticate,
  INVALID_TOKEN_CHALLENGE,
  INVALID_TOKEN_DETAIL,
} from './authenticate.ts';

const keys = await generateTestKeys('EdDSA');

async function setup(auth: Record<string, unknown> = {}) {
  const secret = randomSecret();
  const { config } = loadGatewayConfig(
    {
      auth: { issuer: 'https://auth.test.gatehouse', audience: 'gatehouse', keys: [keys.publicJwk], ...auth },
      assertion: { keys: [{ kid: 'gw1', secret }] },
      upstreams: { a: { url: 'http://127.0.0.1:1' } },
      routes: [{ prefix: '/', upstream: 'a' }],
    },
    {},
    'test',
  );
  const verifier = new TokenVerifier(config.auth, captureLogger().logger);
  await verifier.start();
  const failures: string[] = [];
  const authenticate = createAuthenticate({
    verifier,
    logger: captureLogger().logger,
    onFailure: (r) => failures.push(r),
  });
  return { authenticate, failures, verifier };
}

async function refusal(run: () => unknown): Promise<ProblemError> {
  try {
    await run();
  } catch (err) {
    assert.ok(isProblemError(err), `expected a problem, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the request to be refused');
}

function withAuthorization(...values: string[]) {
  const ctx = contextFor({ rawHeaders: values.flatMap((v) => ['Authorization', v]) });
  ctx.authorizationCount = values.length;
  ctx.authorization = values.length === 1 ? values[0] : undefined;
  return ctx;
}

describe('authenticate', () => {
  it('lets public requests through without looking at tokens', async () => {
    const { authenticate } = await setup();
    const ctx = withAuthorization('Bearer garbage');
    ctx.isPublic = true;
    await authenticate(ctx);
    assert.equal(ctx.identity, undefined);
  });

  it('answers a missing token with a plain Bearer challenge', async () => {
    const { authenticate, failures } = await setup();
    const ctx = withAuthorization();
    const err = await refusal(() => authenticate(ctx));
    assert.equal(err.code, 'GW_UNAUTHENTICATED');
    assert.equal(err.headers?.['www-authenticate'], BEARER_CHALLENGE);
    assert.deepEqual(failures, ['missing']);
  });

  it('accepts a valid token and sets the identity', async () => {
    const { authenticate } = await setup();
    const ctx = withAuthorization(
      `Bearer ${await signToken(keys, { sub: 'u9', tid: 't9', roles: ['admin'] })}`,
    );
    await authenticate(ctx);
    assert.equal(ctx.identity?.sub, 'u9');
    // The second time the token is known: decided at once, without a promise.
    const again = withAuthorization(ctx.authorization as string);
    assert.equal(authenticate(again), undefined);
    assert.equal(again.identity?.sub, 'u9');
    assert.equal(ctx.identity?.tid, 't9');
    assert.deepEqual(ctx.identity?.roles, ['admin']);
  });

  it('refuses every bad token with the same answer, logging the reason', async () => {
    const { authenticate, failures } = await setup();
    const cases: [string, string][] = [
      ['Basic dXNlcjpwYXNz', 'not_bearer'],
      ['Bearer', 'not_bearer'],
      [`Bearer ${await signToken(keys, { iss: 'https://evil' })}`, 'wrong_issuer'],
      [
        `Bearer ${await signToken(keys, { exp: Math.floor(Date.now() / 1000) - 3600, iat: Math.floor(Date.now() / 1000) - 3700 })}`,
        'expired',
      ],
    ];
    for (const [header, reason] of cases) {
      const err = await refusal(() => authenticate(withAuthorization(header)));
      assert.equal(err.code, 'GW_INVALID_TOKEN');
      assert.equal(err.detail, INVALID_TOKEN_DETAIL);
      assert.equal(err.headers?.['www-authenticate'], INVALID_TOKEN_CHALLENGE);
      assert.equal(failures.at(-1), reason);
    }
    const twice = await refusal(() => authenticate(withAuthorization('Bearer a.b.c', 'Bearer a.b.c')));
    assert.equal(twice.code, 'GW_INVALID_TOKEN');
    assert.equal(failures.at(-1), 'duplicate_header');
  });

  it('answers 503 when no key can be trusted, so clients retry instead of signing in again', async () => {
    const { authenticate } = await setup({
      keys: undefined,
      jwksUrl: 'http://127.0.0.1:9/jwks.json',
      jwks: { timeoutMs: 200, cooldownSeconds: 1 },
    });
    const ctx = withAuthorization(`Bearer ${await signToken(keys)}`);
    const err = await refusal(() => authenticate(ctx));
    assert.equal(err.code, 'GW_AUTH_UNAVAILABLE');
    assert.equal(err.headers?.['retry-after'], '5');
    assert.equal(ctx.failure, 'keys_unavailable');
  });

  it('passes on errors it does not own', async () => {
    const boom = new Error('boom');
    const authenticate = createAuthenticate({
      verifier: { cached: () => undefined, verify: () => Promise.reject(boom) } as unknown as TokenVerifier,
      logger: captureLogger().logger,
    });
    await assert.rejects(async () => authenticate(withAuthorization('Bearer a.b.c')), boom);
  });
});
