import { createHmac, createSecretKey, timingSafeEqual } from 'node:crypto';

/**
 * The gateway's identity assertion: a compact JWS (HS256) that the gateway
 * signs for every authenticated request it forwards, and that services verify
 * before they believe any identity. It is bound to the request (method, path,
 * request id) and lives 60 s, so a captured assertion is no use on another
 * request, and a request that reaches a service around the gateway carries no
 * identity at all.
 *
 * HS256 with keys shared by the gateway and the services keeps signing to a
 * few microseconds per request (a synchronous node:crypto HMAC); keys carry a
 * `kid` so they can be rotated: the first key signs, every key verifies.
 */
export const ASSERTION_HEADER = 'x-gateway-assertion';
export const ASSERTION_TYP = 'gatehouse-assertion+jwt';
export const ASSERTION_ISSUER = 'gatehouse-gateway';
export const ASSERTION_LIFETIME_S = 60;

export interface AssertionKey {
  readonly kid: string;
  readonly secret: string;
}

export interface AssertedIdentity {
  /** User id. */
  readonly sub: string;
  /** Tenant id the user acts for. */
  readonly tid: string;
  readonly roles: readonly string[];
  /** The access token's id (for revocation). */
  readonly jti?: string | undefined;
  /**
   * When the access token behind this request expires (seconds since the epoch).
   * A service holding a long-lived connection (a WebSocket) closes it with 4401
   * before this instant; the gateway cuts the tunnel at the same time as a
   * backstop. Absent in assertions from gateways older than this claim, and for
   * identities that have no token (service calls): verifiers accept both.
   */
  readonly tokenExp?: number | undefined;
}

export interface AssertionBinding {
  readonly method: string;
  /** The path the service receives, without the query string. */
  readonly path: string;
  readonly requestId: string;
}

interface AssertionPayload extends AssertedIdentity {
  iss: string;
  rid: string;
  htm: string;
  htu: string;
  iat: number;
  exp: number;
}

function b64url(input: string | Buffer): string {
  return Buffer.from(input).toString('base64url');
}

function headerFor(kid: string): string {
  return b64url(JSON.stringify({ alg: 'HS256', typ: ASSERTION_TYP, kid }));
}

export type AssertionSigner = (
  identity: AssertedIdentity,
  binding: AssertionBinding,
  nowSeconds?: number,
) => string;

export function createAssertionSigner(keys: readonly AssertionKey[]): AssertionSigner {
  const key = keys[0];
  if (key === undefined) throw new Error('createAssertionSigner: at least one key is required');
  const header = headerFor(key.kid);
  // Imported once: createHmac with a KeyObject skips re-processing the secret on every request.
  const secret = createSecretKey(Buffer.from(key.secret));
  // The identity's part of the payload is encoded once per identity object (the gateway reuses
  // one per verified token): JSON padded with spaces to a multiple of 3 bytes, so its base64url is
  // a prefix of the whole payload's and only the per-request part is encoded on each request.
  const prefixes = new WeakMap<AssertedIdentity, string>();
  function prefixFor(identity: AssertedIdentity): string {
    let prefix = prefixes.get(identity);
    if (prefix === undefined) {
      const json = JSON.stringify({
        iss: ASSERTION_ISSUER,
        sub: identity.sub,
        tid: identity.tid,
        roles: identity.roles,
        jti: identity.jti,
        tokenExp: identity.tokenExp,
      }).slice(0, -1);
      const pad = (3 - (Buffer.byteLength(json) % 3)) % 3;
      prefix = b64url(json + ' '.repeat(pad));
      prefixes.set(identity, prefix);
    }
    return prefix;
  }
  return function signAssertion(identity, binding, nowSeconds = Math.floor(Date.now() / 1000)) {
    const rest = `,"rid":${JSON.stringify(binding.requestId)},"htm":${JSON.stringify(binding.method)},"htu":${JSON.stringify(binding.path)},"iat":${nowSeconds},"exp":${nowSeconds + ASSERTION_LIFETIME_S}}`;
    const input = `${header}.${prefixFor(identity)}${b64url(rest)}`;
    return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
  };
}

export type AssertionFailure =
  | 'missing'
  | 'malformed'
  | 'unknown_key'
  | 'bad_signature'
  | 'expired'
  | 'wrong_request'
  | 'bad_claims';

export type AssertionResult =
  | { readonly ok: true; readonly identity: AssertedIdentity }
  | { readonly ok: false; readonly reason: AssertionFailure };

export type AssertionVerifier = (
  token: string | string[] | undefined,
  binding: AssertionBinding,
  nowSeconds?: number,
) => AssertionResult;

export function createAssertionVerifier(
  keys: readonly AssertionKey[],
  options: { clockToleranceSeconds?: number } = {},
): AssertionVerifier {
  const tolerance = options.clockToleranceSeconds ?? 5;
  const byHeader = new Map(keys.map((k) => [headerFor(k.kid), createSecretKey(Buffer.from(k.secret))]));
  return function verifyAssertion(token, binding, nowSeconds = Math.floor(Date.now() / 1000)) {
    if (token === undefined) return { ok: false, reason: 'missing' };
    if (typeof token !== 'string' || token.length > 8192) return { ok: false, reason: 'malformed' };
    const parts = token.split('.');
    if (parts.length !== 3) return { ok: false, reason: 'malformed' };
    const [header, body, signature] = parts as [string, string, string];
    // The header must be byte-for-byte one we issue: this pins alg, typ and kid.
    const secret = byHeader.get(header);
    if (secret === undefined) return { ok: false, reason: 'unknown_key' };
    const expected = createHmac('sha256', secret).update(`${header}.${body}`).digest();
    const given = Buffer.from(signature, 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return { ok: false, reason: 'bad_signature' };
    }
    // `null` is valid JSON: a signed body of `null` must be refused, not throw.
    let payload: Partial<AssertionPayload> | null;
    try {
      payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as typeof payload;
    } catch {
      return { ok: false, reason: 'malformed' };
    }
    if (
      payload === null ||
      payload.iss !== ASSERTION_ISSUER ||
      typeof payload.sub !== 'string' ||
      typeof payload.tid !== 'string' ||
      !Array.isArray(payload.roles) ||
      !payload.roles.every((r) => typeof r === 'string') ||
      typeof payload.exp !== 'number' ||
      typeof payload.iat !== 'number' ||
      (payload.tokenExp !== undefined && !Number.isSafeInteger(payload.tokenExp))
    ) {
      return { ok: false, reason: 'bad_claims' };
    }
    if (payload.exp + tolerance < nowSeconds || payload.iat - tolerance > nowSeconds) {
      return { ok: false, reason: 'expired' };
    }
    if (payload.htm !== binding.method || payload.htu !== binding.path || payload.rid !== binding.requestId) {
      return { ok: false, reason: 'wrong_request' };
    }
    const identity: AssertedIdentity = {
      sub: payload.sub,
      tid: payload.tid,
      roles: payload.roles,
      jti: payload.jti,
    };
    // Only present when signed: an older gateway's assertion verifies to the same shape as before.
    return {
      ok: true,
      identity: payload.tokenExp === undefined ? identity : { ...identity, tokenExp: payload.tokenExp },
    };
  };
}
