/**
 * The query string parser of every service. Fastify's default decodes invalid
 * UTF-8 (`%ED%A0%80`, a lone surrogate's bytes) to U+FFFD without a word, so
 * a value the client sent could not reach the storable-text rule and was
 * silently changed. Here such a value keeps a trace of each byte that is not
 * plain ASCII as a lone low surrogate (U+DC80–U+DCFF, Python's
 * `surrogateescape`): not well-formed, so `refuseUnstorableText` refuses it
 * with a 400 naming the parameter. Repeated keys become arrays, `+` is a space
 * and a malformed escape (`%zz`) stays as written, as with the default.
 */
export function parseQueryString(text: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = Object.create(null);
  for (const pair of text.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const key = decode(eq === -1 ? pair : pair.slice(0, eq));
    const value = eq === -1 ? '' : decode(pair.slice(eq + 1));
    const seen = out[key];
    if (seen === undefined) out[key] = value;
    else if (Array.isArray(seen)) seen.push(value);
    else out[key] = [seen, value];
  }
  return out;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

function decode(raw: string): string {
  const text = raw.replaceAll('+', ' ');
  if (!text.includes('%')) return text;
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const hex = text.slice(i + 1, i + 3);
    if (text[i] === '%' && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(Number.parseInt(hex, 16));
      i += 2;
    } else {
      const char = String.fromCodePoint(text.codePointAt(i) as number);
      bytes.push(...Buffer.from(char, 'utf8'));
      i += char.length - 1;
    }
  }
  try {
    return UTF8.decode(Uint8Array.from(bytes));
  } catch {
    return String.fromCharCode(...bytes.map((b) => (b < 0x80 ? b : 0xdc00 + b)));
  }
}
