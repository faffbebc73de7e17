import type { Operation } from './operations.ts';
import type { Answer } from './oracle.ts';
import type { Case } from './requests.ts';

/**
 * Percent-encodes like encodeURIComponent, except that an unpaired surrogate
 * (which has no UTF-8 form, so encodeURIComponent throws) is sent as the three
 * bytes of its code unit: invalid UTF-8, exactly what a hostile client sends.
 */
export function encodeText(value: string): string {
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const unit = value.charCodeAt(i);
    const pair = unit >= 0xd800 && unit <= 0xdbff && (value.charCodeAt(i + 1) & 0xfc00) === 0xdc00;
    if (pair) {
      out += encodeURIComponent(value.slice(i, i + 2));
      i++;
    } else if (unit >= 0xd800 && unit <= 0xdfff) {
      out += [0xe0 | (unit >> 12), 0x80 | ((unit >> 6) & 0x3f), 0x80 | (unit & 0x3f)]
        .map((b) => `%${b.toString(16).toUpperCase()}`)
        .join('');
    } else {
      out += encodeURIComponent(value[i] as string);
    }
  }
  return out;
}

export function targetOf(
  path: string,
  params: Record<string, unknown>,
  query: Record<string, unknown>,
): string {
  const filled = path.replace(/\{([^}]+)\}/g, (_m, name: string) =>
    name in params ? encodeText(String(params[name])) : `{${name}}`,
  );
  const search = Object.entries(query)
    .map(([k, v]) => `${encodeText(k)}=${encodeText(String(v))}`)
    .join('&');
  return search === '' ? filled : `${filled}?${search}`;
}

export async function send(
  gatewayUrl: string,
  method: string,
  op: Operation,
  c: Case,
  token: string,
): Promise<Answer> {
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  const init: RequestInit = { method, headers };
  if (c.body !== undefined) {
    headers['content-type'] = 'application/json';
    init.body = JSON.stringify(c.body);
  }
  const res = await fetch(`${gatewayUrl}${targetOf(op.path, c.params, c.query)}`, init);
  return {
    status: res.status,
    contentType: res.headers.get('content-type') ?? undefined,
    allow: res.headers.get('allow') ?? undefined,
    text: await res.text(),
  };
}
