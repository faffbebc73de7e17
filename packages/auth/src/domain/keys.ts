import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
} from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SigningKeyInput } from '../config.ts';

/**
 * The signing keys of access tokens. Each key has a time from which it signs
 * (`signFrom`) and, once a newer one takes over, a time it stopped signing
 * (`retireAt`). The JWKS publishes a key from the moment it exists (so gateways
 * have it before the first token it signs) until every token it signed has
 * expired.
 */
export interface SigningKey {
  readonly kid: string;
  readonly alg: 'EdDSA' | 'ES256';
  readonly privateKey: KeyObject;
  readonly publicJwk: Record<string, unknown>;
  readonly signFrom: number;
  readonly retireAt: number | undefined;
}

export interface StoredKey {
  kid: string;
  jwk: Record<string, unknown>;
  signFrom: number;
  retireAt?: number | undefined;
  createdAt?: number;
}

function algOf(jwk: Record<string, unknown>): 'EdDSA' | 'ES256' {
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') return 'EdDSA';
  if (jwk.kty === 'EC' && jwk.crv === 'P-256') return 'ES256';
  throw new Error(`signing key ${String(jwk.kid)}: only Ed25519 (OKP) or P-256 (EC) keys are accepted`);
}

export function toSigningKey(input: SigningKeyInput | StoredKey): SigningKey {
  const jwk = input.jwk;
  const kid = String(jwk.kid ?? (input as StoredKey).kid);
  const alg = algOf(jwk);
  const privateKey = createPrivateKey({ key: jwk as never, format: 'jwk' });
  const pub = createPublicKey(privateKey).export({ format: 'jwk' }) as Record<string, unknown>;
  return {
    kid,
    alg,
    privateKey,
    publicJwk: { ...pub, kid, alg, use: 'sig' },
    signFrom: input.signFrom ?? 0,
    retireAt: input.retireAt,
  };
}

export function generateStoredKey(signFrom: number): StoredKey {
  const { privateKey } = generateKeyPairSync('ed25519');
  const kid = `ed-${new Date().toISOString().slice(0, 10)}-${randomBytes(4).toString('hex')}`;
  const jwk = { ...(privateKey.export({ format: 'jwk' }) as Record<string, unknown>), kid };
  return { kid, jwk, signFrom, createdAt: Math.floor(Date.now() / 1000) };
}

export class KeyRing {
  #keys: SigningKey[];
  readonly #maxTokenLifetime: number;

  constructor(keys: readonly SigningKey[], maxTokenLifetime: number) {
    if (keys.length === 0) throw new Error('KeyRing: no signing key');
    this.#keys = [...keys];
    this.#maxTokenLifetime = maxTokenLifetime;
  }

  replace(keys: readonly SigningKey[]): void {
    if (keys.length > 0) this.#keys = [...keys];
  }

  /** The key that signs now: the newest whose signFrom has come and that is not retired. */
  current(now = Math.floor(Date.now() / 1000)): SigningKey {
    const active = this.#keys
      .filter((k) => k.signFrom <= now && (k.retireAt === undefined || k.retireAt > now))
      .sort((a, b) => b.signFrom - a.signFrom);
    const fallback = [...this.#keys].sort((a, b) => a.signFrom - b.signFrom);
    return (active[0] ?? fallback.filter((k) => k.signFrom <= now).pop() ?? fallback[0]) as SigningKey;
  }

  /** Every key a valid token may be signed with: upcoming, current, and retired ones whose tokens live on. */
  jwks(now = Math.floor(Date.now() / 1000)): { keys: Record<string, unknown>[] } {
    const current = this.current(now);
    const keys = this.#keys.filter(
      (k) => k === current || k.retireAt === undefined || k.retireAt + this.#maxTokenLifetime + 60 > now,
    );
    return { keys: keys.map((k) => k.publicJwk) };
  }
}

/** Development: keys kept as JSON files under `<dataDir>/keys/` (mode 0600). */
export function keyDir(dataDir: string): string {
  return join(dataDir, 'keys');
}

export function readKeyDir(dir: string): StoredKey[] {
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.json'));
  } catch {
    return [];
  }
  return files.map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as StoredKey);
}

export function writeStoredKey(dir: string, key: StoredKey): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, `${key.kid}.json`);
  writeFileSync(`${file}.tmp`, `${JSON.stringify(key, null, 2)}\n`, { mode: 0o600 });
  renameSync(`${file}.tmp`, file);
}

/** First start in development: generate one key and keep it. */
export function ensureDevKey(dir: string, now = Math.floor(Date.now() / 1000)): StoredKey[] {
  const existing = readKeyDir(dir);
  if (existing.length > 0) return existing;
  const key = generateStoredKey(now);
  writeStoredKey(dir, key);
  return [key];
}

/**
 * Rotation: the new key is published at once and signs from `now + lead`
 * (gateways refresh their JWKS cache in the meantime); the keys that sign now
 * retire at that moment and stay published until their tokens have expired.
 * Keys whose tokens have all expired are deleted.
 */
export function rotateKeyDir(
  dir: string,
  leadSeconds: number,
  maxTokenLifetime: number,
  now = Math.floor(Date.now() / 1000),
): { added: StoredKey; retired: string[]; removed: string[] } {
  const existing = readKeyDir(dir);
  const added = generateStoredKey(now + leadSeconds);
  const retired: string[] = [];
  const removed: string[] = [];
  for (const key of existing) {
    if (key.retireAt === undefined) {
      key.retireAt = added.signFrom;
      writeStoredKey(dir, key);
      retired.push(key.kid);
    } else if (key.retireAt + maxTokenLifetime + 60 < now) {
      rmSync(join(dir, `${key.kid}.json`), { force: true });
      removed.push(key.kid);
    }
  }
  writeStoredKey(dir, added);
  return { added, retired, removed };
}
