import type { Logger } from '@gatehouse/kit';
import { decodeProtectedHeader, type JWTPayload, errors as joseErrors, jwtVerify } from 'jose';
import type { GatewayConfig } from '../config/schema.ts';
import { JwksSource } from './jwks-source.ts';
import { hs256Key, importPublicJwks, type VerificationKey } from './keys.ts';

/** Who the caller is, from a verified access token. */
export interface Identity {
  readonly sub: string;
  readonly tid: string;
  readonly roles: readonly string[];
  readonly jti: string;
  readonly iat: number;
  readonly exp: number;
  /** The same instant as `exp`, under the name the signed assertion carries it to services. */
  readonly tokenExp: number;
}

/** Why a token was refused: a metric label and a log field, never told to the client. */
export type TokenFailure =
  | 'malformed'
  | 'too_large'
  | 'embedded_key'
  | 'unknown_kid'
  | 'alg_mismatch'
  | 'bad_type'
  | 'bad_signature'
  | 'expired'
  | 'not_yet_valid'
  | 'wrong_issuer'
  | 'wrong_audience'
  | 'bad_claims'
  | 'lifetime_too_long';

export class TokenRejected extends Error {
  readonly code = 'TOKEN_REJECTED';
  readonly reason: TokenFailure;
  constructor(reason: TokenFailure) {
    super(reason);
    this.reason = reason;
  }
}

/** No key can be trusted right now (JWKS never loaded, or stale past its maximum age). */
export class KeysUnavailable extends Error {
  readonly code = 'KEYS_UNAVAILABLE';
}

const EMBEDDED_KEY_HEADERS = ['jwk', 'jku', 'x5u', 'x5c', 'x5t', 'x5t#S256', 'crit'] as const;
const TOKEN_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const MAX_ROLES = 64;

export interface TokenVerifierStatus {
  readonly source: 'jwks' | 'static';
  readonly usable: boolean;
  readonly cachedTokens: number;
  readonly jwks?: ReturnType<JwksSource['status']>;
}

/**
 * Verifies access tokens with jose: one algorithm per key, `iss`, `aud`, `exp`,
 * `typ: at+jwt`, bounded clock leeway and lifetime. Verified tokens are kept
 * by their exact string until they expire (bounded), so a client reusing its
 * token pays for the signature once; revocation is still checked on every
 * request by a later stage.
 */
export class TokenVerifier {
  readonly #auth: GatewayConfig['auth'];
  readonly #jwks: JwksSource | undefined;
  readonly #static = new Map<string, VerificationKey>();
  #anonymousKey: VerificationKey | undefined;
  readonly #cache = new Map<string, Identity>();
  readonly #cacheMax: number;

  constructor(auth: GatewayConfig['auth'], logger: Logger) {
    this.#auth = auth;
    this.#cacheMax = auth.tokenCacheEntries;
    if (auth.jwksUrl !== undefined) {
      this.#jwks = new JwksSource({
        url: auth.jwksUrl,
        refreshIntervalMs: auth.jwks.refreshIntervalSeconds * 1000,
        cooldownMs: auth.jwks.cooldownSeconds * 1000,
        maxStaleMs: auth.jwks.maxStaleSeconds * 1000,
        timeoutMs: auth.jwks.timeoutMs,
        logger,
        onChange: () => this.#cache.clear(),
      });
    }
  }

  async start(): Promise<void> {
    if (this.#auth.keys !== undefined) {
      const { keys, rejected } = await importPublicJwks(this.#auth.keys as never);
      if (rejected.length > 0) {
        throw new Error(`auth.keys: ${rejected.map((r) => `${r.kid ?? '?'}: ${r.reason}`).join('; ')}`);
      }
      for (const key of keys) this.#static.set(key.kid as string, key);
    }
    if (this.#auth.hs256Secret !== undefined) this.#anonymousKey = hs256Key(this.#auth.hs256Secret);
    await this.#jwks?.start();
  }

  stop(): void {
    this.#jwks?.stop();
  }

  get usable(): boolean {
    return this.#static.size > 0 || this.#anonymousKey !== undefined || (this.#jwks?.usable ?? false);
  }

  status(): TokenVerifierStatus {
    const base = { usable: this.usable, cachedTokens: this.#cache.size };
    return this.#jwks === undefined
      ? { source: 'static', ...base }
      : { source: 'jwks', ...base, jwks: this.#jwks.status() };
  }

  /** The identity of a token verified before and not expired, without waiting; undefined otherwise. */
  cached(token: string, nowMs = Date.now()): Identity | undefined {
    const cached = this.#cache.get(token);
    if (cached === undefined) return undefined;
    if (cached.exp * 1000 + this.#auth.clockToleranceSeconds * 1000 > nowMs) return cached;
    this.#cache.delete(token);
    return undefined;
  }

  /** The identity in `token`, or a TokenRejected / KeysUnavailable error. */
  async verify(token: string, nowMs = Date.now()): Promise<Identity> {
    const cached = this.cached(token, nowMs);
    if (cached !== undefined) return cached;
    const identity = await this.#verifyUncached(token, nowMs);
    if (this.#cacheMax > 0) {
      if (this.#cache.size >= this.#cacheMax) this.#cache.delete(this.#cache.keys().next().value as string);
      this.#cache.set(token, identity);
    }
    return identity;
  }

  async #verifyUncached(token: string, nowMs: number): Promise<Identity> {
    if (token.length > this.#auth.maxTokenBytes) throw new TokenRejected('too_large');
    if (!TOKEN_SHAPE.test(token)) throw new TokenRejected('malformed');
    let header: ReturnType<typeof decodeProtectedHeader>;
    try {
      header = decodeProtectedHeader(token);
    } catch {
      throw new TokenRejected('malformed');
    }
    if (EMBEDDED_KEY_HEADERS.some((name) => name in header)) throw new TokenRejected('embedded_key');
    const typ = typeof header.typ === 'string' ? header.typ.toLowerCase() : '';
    if (typ !== 'at+jwt' && typ !== 'application/at+jwt') throw new TokenRejected('bad_type');
    const key = await this.#keyFor(header.kid);
    if (header.alg !== key.alg) throw new TokenRejected('alg_mismatch');
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, key.key, {
        algorithms: [key.alg],
        issuer: this.#auth.issuer,
        audience: this.#auth.audience,
        typ: 'at+jwt',
        clockTolerance: this.#auth.clockToleranceSeconds,
        requiredClaims: ['exp', 'iat', 'sub', 'jti'],
        currentDate: new Date(nowMs),
      }));
    } catch (err) {
      throw new TokenRejected(classifyJoseError(err));
    }
    return this.#identityFrom(payload, nowMs);
  }

  async #keyFor(kid: unknown): Promise<VerificationKey> {
    if (kid === undefined) {
      if (this.#anonymousKey !== undefined) return this.#anonymousKey;
      throw new TokenRejected('unknown_kid');
    }
    if (typeof kid !== 'string' || kid.length > 128) throw new TokenRejected('malformed');
    const local = this.#static.get(kid);
    if (local !== undefined) return local;
    if (this.#jwks === undefined) {
      if (this.#anonymousKey !== undefined) return this.#anonymousKey;
      throw new TokenRejected('unknown_kid');
    }
    if (!this.#jwks.usable) {
      await this.#jwks.lookup(kid);
      if (!this.#jwks.usable) throw new KeysUnavailable('no trusted signing keys');
    }
    const key = await this.#jwks.lookup(kid);
    if (key === undefined) throw new TokenRejected('unknown_kid');
    return key;
  }

  #identityFrom(payload: JWTPayload, nowMs: number): Identity {
    const { sub, jti, iat, exp } = payload;
    const tid = payload.tid;
    const roles = payload.roles;
    if (
      typeof sub !== 'string' ||
      sub === '' ||
      sub.length > 256 ||
      typeof jti !== 'string' ||
      jti === '' ||
      jti.length > 256 ||
      typeof tid !== 'string' ||
      tid === '' ||
      tid.length > 256 ||
      !Array.isArray(roles) ||
      roles.length > MAX_ROLES ||
      !roles.every((r) => typeof r === 'string' && r.length <= 64) ||
      typeof iat !== 'number' ||
      typeof exp !== 'number'
    ) {
      throw new TokenRejected('bad_claims');
    }
    if (exp - iat > this.#auth.maxTokenLifetimeSeconds) throw new TokenRejected('lifetime_too_long');
    // jose checks iat only against a maximum age; a token issued in the future is refused here.
    if (iat * 1000 > nowMs + this.#auth.clockToleranceSeconds * 1000)
      throw new TokenRejected('not_yet_valid');
    return { sub, tid, roles: Object.freeze([...(roles as string[])]), jti, iat, exp, tokenExp: exp };
  }
}

function classifyJoseError(err: unknown): TokenFailure {
  if (err instanceof joseErrors.JWTExpired) return 'expired';
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return 'bad_signature';
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    if (err.reason !== 'check_failed') return 'bad_claims';
    if (err.claim === 'iss') return 'wrong_issuer';
    if (err.claim === 'aud') return 'wrong_audience';
    if (err.claim === 'nbf' || err.claim === 'iat') return 'not_yet_valid';
    return 'bad_claims';
  }
  // typ and alg were checked before jose ran; what is left is a token jose cannot parse.
  return 'malformed';
}
