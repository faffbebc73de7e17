/**
 * Request-target hygiene. The gateway decides on the path it forwards, so the
 * path is decoded once, dot segments are resolved, and the canonical form is
 * what both the route match and the upstream see. Anything that one parser
 * could read differently from another is refused rather than guessed:
 * encoded slashes and backslashes, NUL and control characters, encoded `%`
 * (double encoding), `;` path parameters (`/public/..;/admin` on Tomcat),
 * invalid UTF-8, and `..` above the root.
 */

export type PathResult =
  | { readonly ok: true; readonly path: string; readonly query: string }
  | { readonly ok: false; readonly reason: string };

// A path made only of plain pchar segments, with no dot segment and no `//`:
// already canonical, so the common case does no further work.
const CANONICAL = /^(?:\/[A-Za-z0-9\-_~!$&'()*+,=:@.]+)*\/?$/;
const DOT_SEGMENT = /\/\.\.?(?:\/|$)/;
// Characters allowed raw in a path (RFC 3986 pchar without `;`, plus `/` and `%`).
const RAW_ALLOWED = /^[A-Za-z0-9\-._~!$&'()*+,=:@/%]*$/;
// Bytes that must never appear once decoded: `/` `\` `%` `;` and controls.
const FORBIDDEN_DECODED = new Set([0x2f, 0x5c, 0x25, 0x3b, 0x7f]);
const utf8 = new TextDecoder('utf-8', { fatal: true });

export function normalizeTarget(target: string): PathResult {
  if (target.charCodeAt(0) !== 0x2f) return { ok: false, reason: 'not_origin_form' };
  const q = target.indexOf('?');
  const rawPath = q === -1 ? target : target.slice(0, q);
  const query = q === -1 ? '' : target.slice(q);
  if (query.includes('#') || /[\0-\x20\x7f]/.test(query)) return { ok: false, reason: 'bad_query' };
  if (CANONICAL.test(rawPath) && !DOT_SEGMENT.test(rawPath) && !rawPath.includes('//')) {
    return { ok: true, path: rawPath, query };
  }
  if (!RAW_ALLOWED.test(rawPath)) return { ok: false, reason: 'forbidden_character' };
  const decoded = decodeOnce(rawPath);
  if (decoded === undefined) return { ok: false, reason: 'bad_encoding' };
  const segments: string[] = [];
  const parts = decoded.split('/');
  for (const part of parts) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (segments.length === 0) return { ok: false, reason: 'above_root' };
      segments.pop();
      continue;
    }
    segments.push(part);
  }
  const last = parts[parts.length - 1];
  const trailingSlash = segments.length > 0 && (last === '' || last === '.' || last === '..');
  const path = `/${segments.map(encodeSegment).join('/')}${trailingSlash ? '/' : ''}`;
  return { ok: true, path, query };
}

/** Percent-decodes exactly once; undefined for bad escapes, forbidden bytes or invalid UTF-8. */
function decodeOnce(raw: string): string | undefined {
  if (!raw.includes('%')) return raw;
  const bytes: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c !== 0x25) {
      bytes.push(c);
      continue;
    }
    const hex = raw.slice(i + 1, i + 3);
    if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return undefined;
    const byte = Number.parseInt(hex, 16);
    if (byte < 0x20 || FORBIDDEN_DECODED.has(byte)) return undefined;
    bytes.push(byte);
    i += 2;
  }
  try {
    return utf8.decode(Uint8Array.from(bytes));
  } catch {
    return undefined;
  }
}

const KEEP = /%(?:24|26|2B|2C|3D|3A|40)/g;

/** The canonical encoding of one decoded segment: pchar kept, everything else escaped. */
function encodeSegment(segment: string): string {
  return encodeURIComponent(segment).replace(KEEP, (escaped) => decodeURIComponent(escaped));
}
