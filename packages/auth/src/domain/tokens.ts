import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import type { KeyRing } from './keys.ts';

export interface AccessClaims {
  readonly sub: string;
  readonly tid: string;
  readonly roles: readonly string[];
}

export interface IssuedAccessToken {
  readonly token: string;
  readonly jti: string;
  readonly iat: number;
  readonly exp: number;
}

export interface AccessTokenIssuer {
  issue(claims: AccessClaims, notBefore: number): Promise<IssuedAccessToken>;
  readonly ttlSeconds: number;
}

export function createAccessTokenIssuer(
  keys: KeyRing,
  options: { issuer: string; audience: string; ttlSeconds: number },
): AccessTokenIssuer {
  return {
    ttlSeconds: options.ttlSeconds,
    async issue(claims, notBefore) {
      // A token must never predate the user's not-before watermark (set by logout-all or a
      // password change within this second), or it would be born revoked.
      const iat = Math.max(Math.floor(Date.now() / 1000), notBefore);
      const exp = iat + options.ttlSeconds;
      const jti = randomUUID();
      const key = keys.current(iat);
      const token = await new SignJWT({ tid: claims.tid, roles: [...claims.roles] })
        .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'at+jwt' })
        .setIssuer(options.issuer)
        .setAudience(options.audience)
        .setSubject(claims.sub)
        .setJti(jti)
        .setIssuedAt(iat)
        .setExpirationTime(exp)
        .sign(key.privateKey);
      return { token, jti, iat, exp };
    },
  };
}

/** Opaque secrets (refresh, reset, verification, invitation): 256 random bits, stored as SHA-256 only. */
export function newOpaqueToken(prefix: string): string {
  return `${prefix}_${randomBytes(32).toString('base64url')}`;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
