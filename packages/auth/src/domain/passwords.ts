import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { type Algorithm, hash, verify } from '@node-rs/argon2';
import type { AuthConfig } from '../config.ts';

const ARGON2ID = 2 as Algorithm;

/** The shipped list of common and breached passwords, lower-cased, one per line. */
const COMMON = new Set(
  readFileSync(new URL('./common-passwords.txt', import.meta.url), 'utf8')
    .split('\n')
    .map((line) => line.trim().toLowerCase())
    .filter((line) => line !== '' && !line.startsWith('#')),
);

export function commonPasswordCount(): number {
  return COMMON.size;
}

function isRepetitiveOrSequential(pw: string): boolean {
  const chars = [...pw.toLowerCase()];
  if (new Set(chars).size <= 2) return true;
  let ascending = 0;
  let descending = 0;
  for (let i = 1; i < chars.length; i++) {
    const diff = (chars[i] as string).codePointAt(0)! - (chars[i - 1] as string).codePointAt(0)!;
    if (diff === 1) ascending++;
    if (diff === -1) descending++;
  }
  return ascending === chars.length - 1 || descending === chars.length - 1;
}

/**
 * NIST SP 800-63B rev 4: a minimum length (default 15), at least 64 allowed,
 * every character allowed, no composition rules, a blocklist of common and
 * breached values, nothing derived from the account's email. Returns why the
 * password is refused, or undefined.
 */
export function passwordProblem(
  password: string,
  policy: AuthConfig['passwords'],
  context: { email?: string | undefined } = {},
): string | undefined {
  const normalized = password.normalize('NFKC');
  const length = [...normalized].length;
  if (length < policy.minLength) return `must be at least ${policy.minLength} characters`;
  if (length > policy.maxLength) return `must be at most ${policy.maxLength} characters`;
  const lower = normalized.toLowerCase();
  if (COMMON.has(lower) || COMMON.has(lower.replace(/[\s\d!@#$%^&*.?_-]+$/u, ''))) {
    return 'is too common (found in a list of common or breached passwords)';
  }
  if (isRepetitiveOrSequential(normalized)) return 'is a repetition or a simple sequence';
  const email = context.email?.toLowerCase();
  if (email !== undefined && email !== '') {
    const local = email.split('@')[0] ?? '';
    if (lower.includes(email) || (local.length >= 4 && lower.includes(local))) {
      return 'must not contain your email address';
    }
  }
  return undefined;
}

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  /** Always does the full work, also for an unknown user (pass undefined): the time says nothing. */
  verify(stored: string | undefined, password: string): Promise<boolean>;
  needsRehash(stored: string): boolean;
}

export async function createPasswordHasher(
  params: AuthConfig['passwords']['argon2'],
): Promise<PasswordHasher> {
  const options = { algorithm: ARGON2ID, ...params };
  const prefix = `$argon2id$v=19$m=${params.memoryCost},t=${params.timeCost},p=${params.parallelism}$`;
  // A real hash of a random secret with the same parameters, verified for unknown users.
  const dummy = await hash(randomBytes(24).toString('base64url'), options);
  return {
    hash: (password) => hash(password.normalize('NFKC'), options),
    async verify(stored, password) {
      const ok = await verify(stored ?? dummy, password.normalize('NFKC')).catch(() => false);
      return stored !== undefined && ok;
    },
    needsRehash: (stored) => !stored.startsWith(prefix),
  };
}
