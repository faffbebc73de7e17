import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

/**
 * The built app, read into memory once at start (a few hundred KB): every file
 * with its type, a strong ETag, its cache policy and, for text, gzip and
 * brotli encodings made once instead of per request.
 */

export interface StaticFile {
  readonly path: string;
  readonly type: string;
  readonly etag: string;
  readonly cacheControl: string;
  readonly identity: Buffer;
  readonly gzip: Buffer | undefined;
  readonly br: Buffer | undefined;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
  '.map': 'application/json',
};

const COMPRESSIBLE = new Set(['.html', '.js', '.css', '.svg', '.json', '.txt', '.map']);

/** Vite's hashed outputs: the name changes whenever the content does, so they never need revalidating. */
export const IMMUTABLE = 'public, max-age=31536000, immutable';
/** The page itself is never kept: a new deployment's asset names are seen at the next load. */
export const NOT_STORED = 'no-store';
/** Unhashed public files (the icon): cached briefly, revalidated by ETag. */
export const SHORT = 'public, max-age=300';

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...walk(path));
    else if (entry.isFile()) out.push(path);
  }
  return out;
}

function cacheControlFor(urlPath: string): string {
  if (urlPath === '/index.html') return NOT_STORED;
  if (urlPath.startsWith('/assets/')) return IMMUTABLE;
  return SHORT;
}

export function loadStaticFiles(distDir: string): ReadonlyMap<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  for (const file of walk(distDir)) {
    const urlPath = `/${relative(distDir, file).split(sep).join('/')}`;
    const ext = extname(file);
    const identity = readFileSync(file);
    const compress = COMPRESSIBLE.has(ext) && identity.length > 256;
    files.set(urlPath, {
      path: urlPath,
      type: TYPES[ext] ?? 'application/octet-stream',
      etag: `"${createHash('sha256').update(identity).digest('base64url').slice(0, 27)}"`,
      cacheControl: cacheControlFor(urlPath),
      identity,
      gzip: compress ? gzipSync(identity, { level: 9 }) : undefined,
      br: compress
        ? brotliCompressSync(identity, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } })
        : undefined,
    });
  }
  if (!files.has('/index.html')) throw new Error(`${distDir} has no index.html: the app is not built`);
  return files;
}

/** The best encoding the client accepts (q=0 refuses one), brotli before gzip. */
export function chooseEncoding(
  file: StaticFile,
  acceptEncoding: string | undefined,
): 'br' | 'gzip' | undefined {
  if (acceptEncoding === undefined) return undefined;
  const accepted = new Map<string, number>();
  for (const part of acceptEncoding.toLowerCase().split(',')) {
    const [name, ...params] = part.trim().split(';');
    const q = params.map((p) => /^\s*q=([0-9.]+)\s*$/.exec(p)).find((m) => m !== null);
    accepted.set((name ?? '').trim(), q === undefined ? 1 : Number(q?.[1]));
  }
  const ok = (name: string) => (accepted.get(name) ?? accepted.get('*') ?? 0) > 0;
  if (file.br !== undefined && ok('br')) return 'br';
  if (file.gzip !== undefined && ok('gzip')) return 'gzip';
  return undefined;
}
