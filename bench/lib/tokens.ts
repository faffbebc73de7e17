import {
  createHmac,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
  sign,
  timingSafeEqual,
  verify,
} from 'node:crypto';
import type { Alg } from './options.ts';

/**
 * Access tokens the gateway accepts (docs/authentication: compact JWS,
 * `typ: at+jwt`, claims iss, aud, sub, tid, roles, jti, iat, exp with a
 * lifetime of at most 15 minutes), signed with node:crypto synchronously so
 * that a pool of 100k+ distinct tokens is ready in seconds. Keys are made
 * fresh for every run; nothing is written to disk but the gateway config.
 */
export const ISSUER = 'https://auth.bench.local';
export const AUDIENCE = 'gatehouse';
export const LIFETIME_S = 900;

export interface TokenSigner {
  readonly alg: Alg;
  /** The `auth` keys block of the gateway config (static public JWK, or the HS256 secret by env). */
  readonly authKeys: Record<string, unknown>;
  /** Environment the gateway needs for these keys. */
  readonly env: Record<string, string>;
  /** A token for user `n` (sub and tid derive from n; jti is unique per call). */
  sign(n: number, nowSeconds?: number): string;
  /** The signature check alone, `node:crypto` called directly on the same key: the floor of verification. */
  verifySignature(token: string): boolean;
}

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

export function createSigner(alg: Alg): TokenSigner {
  const runId = randomBytes(6).toString('base64url');
  let serial = 0;
  const payload = (n: number, now: number) =>
    b64({
      iss: ISSUER,
      aud: AUDIENCE,
      sub: `user-${n % 10_000}`,
      tid: `tenant-${n % 100}`,
      roles: ['member'],
      jti: `${runId}-${serial++}`,
      iat: now,
      exp: now + LIFETIME_S,
    });

  if (alg === 'HS256') {
    const secret = randomBytes(32).toString('base64url');
    const header = b64({ alg: 'HS256', typ: 'at+jwt' });
    return {
      alg,
      authKeys: { hs256Secret: { env: 'JWT_SECRET' } },
      env: { JWT_SECRET: secret },
      sign(n, now = nowSeconds()) {
        const input = `${header}.${payload(n, now)}`;
        return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
      },
      verifySignature(token) {
        const dot = token.lastIndexOf('.');
        const expected = createHmac('sha256', secret).update(token.slice(0, dot)).digest();
        const given = Buffer.from(token.slice(dot + 1), 'base64url');
        return given.length === expected.length && timingSafeEqual(given, expected);
      },
    };
  }

  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const kid = `bench-${runId}`;
  const header = b64({ alg: 'EdDSA', typ: 'at+jwt', kid });
  return {
    alg,
    authKeys: { keys: [{ ...publicJwk(publicKey), kid, alg: 'EdDSA', use: 'sig' }] },
    env: {},
    sign(n, now = nowSeconds()) {
      const input = `${header}.${payload(n, now)}`;
      return `${input}.${sign(null, Buffer.from(input), privateKey).toString('base64url')}`;
    },
    verifySignature: (token) => verifyEd25519(token, publicKey),
  };
}

/**
 * µs per signature check with `node:crypto` called directly on `tokens` (distinct, already
 * signed), in this process: the floor a gateway's fresh-token verification can approach.
 */
export function verificationFloorUs(signer: TokenSigner, tokens: readonly string[]): number {
  const sample = tokens.slice(0, Math.min(tokens.length, 20_000));
  for (const token of sample.slice(0, 1000)) signer.verifySignature(token); // warm-up
  const started = performance.now();
  for (const token of sample) {
    if (!signer.verifySignature(token)) throw new Error('a pool token did not verify');
  }
  return ((performance.now() - started) * 1000) / sample.length;
}

function verifyEd25519(token: string, publicKey: KeyObject): boolean {
  const dot = token.lastIndexOf('.');
  return verify(
    null,
    Buffer.from(token.slice(0, dot)),
    publicKey,
    Buffer.from(token.slice(dot + 1), 'base64url'),
  );
}

function publicJwk(key: KeyObject): Record<string, unknown> {
  return key.export({ format: 'jwk' }) as Record<string, unknown>;
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** `count` distinct tokens, all issued now (valid for LIFETIME_S). */
export function tokenPool(signer: TokenSigner, count: number): string[] {
  const now = nowSeconds();
  const pool = new Array<string>(count);
  for (let i = 0; i < count; i++) pool[i] = signer.sign(i, now);
  return pool;
}

/** The claims that make a token one user's: a user registered with the identity service. */
export interface UserClaims {
  readonly sub: string;
  readonly tid: string;
  readonly roles?: readonly string[];
}

/** A signer for given users, besides the synthetic `user-n` of `sign`. */
export interface UserSigner extends TokenSigner {
  signFor(user: UserClaims, nowSeconds?: number): string;
}

/**
 * Ed25519 tokens for users that exist in the identity service (the gateway confirms each user
 * with it), signed with a key of the bench's own: its public JWK goes into `auth.keys` beside the
 * identity service's JWKS, so many users get fresh tokens without signing in (argon2) each time.
 */
export function createUserSigner(): UserSigner {
  const keyPair = generateKeyPairSync('ed25519');
  const id = randomBytes(6).toString('base64url');
  const kid = `bench-users-${id}`;
  const encodedHeader = b64({ typ: 'at+jwt', alg: 'EdDSA', kid });
  let issued = 0;
  const signFor = (user: UserClaims, now = nowSeconds()): string => {
    const claims = {
      iss: ISSUER,
      aud: AUDIENCE,
      sub: user.sub,
      tid: user.tid,
      roles: user.roles ?? ['member'],
    };
    const signingInput = `${encodedHeader}.${b64({ ...claims, jti: `${id}.${issued++}`, iat: now, exp: now + LIFETIME_S })}`;
    const signature = sign(null, Buffer.from(signingInput), keyPair.privateKey);
    return `${signingInput}.${signature.toString('base64url')}`;
  };
  return {
    alg: 'EdDSA',
    authKeys: { keys: [{ ...publicJwk(keyPair.publicKey), use: 'sig', alg: 'EdDSA', kid }] },
    env: {},
    sign: (n, now) => signFor({ sub: `user-${n % 10_000}`, tid: `tenant-${n % 100}` }, now),
    verifySignature: (token) => verifyEd25519(token, keyPair.publicKey),
    signFor,
  };
}
