/**
 * Secret strength rules shared by every process. A secret is refused when it is
 * shorter than 32 bytes, when it is one of the defaults that tutorials and
 * sample configs ship, or when it has too little variety to be random.
 */
export const MIN_SECRET_BYTES = 32;

const WELL_KNOWN = new Set(
  [
    'secret',
    'changeme',
    'change-me',
    'changeit',
    'password',
    'your-secret-key',
    'your_secret_key',
    'your-256-bit-secret',
    'supersecret',
    'super-secret-key',
    'development-secret',
    'dev-secret',
    'jwt-secret',
    'jwt_secret',
    'default-secret',
    'test-secret',
    'mysecret',
    'keyboard cat',
    'your-super-secret-jwt-key-change-this-in-production',
    'please-change-this-secret-in-production-0000',
    'gatehouse-development-secret-do-not-use-in-prod',
  ].map((s) => s.toLowerCase()),
);

/** Returns why a secret is weak, or undefined when it is acceptable. */
export function secretWeakness(value: string): string | undefined {
  if (WELL_KNOWN.has(value.trim().toLowerCase())) return 'is a well-known default';
  if (Buffer.byteLength(value, 'utf8') < MIN_SECRET_BYTES)
    return `must be at least ${MIN_SECRET_BYTES} bytes`;
  if (new Set(value).size < 10) return 'has too little variety to be random';
  for (const known of WELL_KNOWN) {
    if (known.length >= 12 && value.toLowerCase().includes(known)) return 'contains a well-known default';
  }
  return undefined;
}
