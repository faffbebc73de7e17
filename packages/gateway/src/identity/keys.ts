import { importJWK, type JWK } from 'jose';

/**
 * One verification key, bound to exactly one algorithm: a token whose header
 * names another algorithm is refused before any crypto runs, so there is no
 * key confusion (an RSA public key used as an HMAC secret, `alg: none`).
 */
type ImportedKey = Awaited<ReturnType<typeof importJWK>>;

export type Algorithm = 'EdDSA' | 'Ed25519' | 'ES256' | 'RS256' | 'HS256';

export interface VerificationKey {
  readonly kid: string | undefined;
  readonly alg: Algorithm;
  readonly key: ImportedKey;
  /** The public key material, to tell a replaced key under the same kid. */
  readonly fingerprint: string;
}

const ASYMMETRIC = new Set<string>(['EdDSA', 'Ed25519', 'ES256', 'RS256']);
const MIN_RSA_BITS = 2048;

/** The one algorithm a public JWK may be used with, or why it may not be used. */
export function algorithmFor(jwk: JWK): { alg: Algorithm } | { error: string } {
  if (jwk.d !== undefined || jwk.p !== undefined || jwk.k !== undefined) {
    return { error: 'private or symmetric key material in a JWKS' };
  }
  if (jwk.use !== undefined && jwk.use !== 'sig') return { error: `use "${jwk.use}" is not "sig"` };
  let inferred: Algorithm | undefined;
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') inferred = 'EdDSA';
  else if (jwk.kty === 'EC' && jwk.crv === 'P-256') inferred = 'ES256';
  else if (jwk.kty === 'RSA') {
    const bits = Buffer.from(jwk.n ?? '', 'base64url').length * 8;
    if (bits < MIN_RSA_BITS) return { error: `RSA key of ${bits} bits is below ${MIN_RSA_BITS}` };
    inferred = 'RS256';
  }
  if (inferred === undefined) return { error: `unsupported key type ${jwk.kty}/${jwk.crv ?? '-'}` };
  if (jwk.alg === undefined) return { alg: inferred };
  if (!ASYMMETRIC.has(jwk.alg)) return { error: `algorithm ${jwk.alg} is not allowed` };
  const compatible = jwk.alg === inferred || (inferred === 'EdDSA' && jwk.alg === 'Ed25519');
  return compatible
    ? { alg: jwk.alg as Algorithm }
    : { error: `algorithm ${jwk.alg} does not fit the key type` };
}

export interface ImportResult {
  readonly keys: VerificationKey[];
  readonly rejected: { kid: string | undefined; reason: string }[];
}

export async function importPublicJwks(jwks: readonly JWK[]): Promise<ImportResult> {
  const keys: VerificationKey[] = [];
  const rejected: { kid: string | undefined; reason: string }[] = [];
  for (const jwk of jwks) {
    const chosen = algorithmFor(jwk);
    if ('error' in chosen) {
      rejected.push({ kid: jwk.kid, reason: chosen.error });
      continue;
    }
    if (typeof jwk.kid !== 'string' || jwk.kid === '') {
      rejected.push({ kid: undefined, reason: 'no kid' });
      continue;
    }
    try {
      const key = await importJWK({ ...jwk, alg: chosen.alg }, chosen.alg);
      const fingerprint = JSON.stringify([jwk.kty, jwk.crv, jwk.x, jwk.y, jwk.n, jwk.e]);
      keys.push({ kid: jwk.kid, alg: chosen.alg, key, fingerprint });
    } catch (err) {
      rejected.push({ kid: jwk.kid, reason: (err as Error).message });
    }
  }
  return { keys, rejected };
}

export function hs256Key(secret: string, kid?: string): VerificationKey {
  return { kid, alg: 'HS256', key: new TextEncoder().encode(secret), fingerprint: 'hs256' };
}
