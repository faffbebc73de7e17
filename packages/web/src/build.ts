import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

/**
 * The app is built by Vite into `dist/`, which is not committed. The server
 * builds it when it is missing or stale, so `npm start` and `npm test` on a
 * fresh clone need no extra step. Stale means: the stamp in `dist/` is not the
 * hash of the app's sources (and of the package manifest that pins Vite and
 * React). Builds are serialised by a lock directory, because several test
 * processes may start the server at once; each build goes to a fresh folder
 * and replaces `dist/` only when it is complete.
 */

export const PACKAGE_DIR = join(import.meta.dirname, '..');
export const APP_DIR = join(PACKAGE_DIR, 'app');
export const DIST_DIR = join(PACKAGE_DIR, 'dist');
export const STAMP_FILE = '.source-stamp';

const LOCK_STALE_MS = 180_000;

function listFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listFiles(path));
    else if (entry.isFile()) out.push(path);
  }
  return out;
}

/** The hash of everything the build reads: the app's files, the build script, the manifest. */
export function sourceStamp(appDir = APP_DIR): string {
  const hash = createHash('sha256');
  const inputs = [
    ...listFiles(appDir),
    join(PACKAGE_DIR, 'package.json'),
    join(PACKAGE_DIR, 'src', 'vite-build.ts'),
  ].sort();
  for (const file of inputs) {
    hash.update(relative(PACKAGE_DIR, file)).update('\0').update(readFileSync(file)).update('\0');
  }
  return hash.digest('hex');
}

export function isFresh(distDir: string, stamp: string): boolean {
  try {
    return readFileSync(join(distDir, STAMP_FILE), 'utf8').trim() === stamp;
  } catch {
    return false;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function withLock<T>(lockDir: string, fn: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      mkdirSync(lockDir);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      // A build killed half-way leaves its lock behind: old enough, it is taken over.
      const age = Date.now() - (statSync(lockDir, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > LOCK_STALE_MS) rmSync(lockDir, { recursive: true, force: true });
      else await sleep(200);
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lockDir, { recursive: true, force: true });
  }
}

export interface EnsureBuiltOptions {
  readonly distDir?: string;
  /** Runs the build into `outDir` (default: Vite in a child process). */
  readonly build?: (outDir: string, stamp: string) => Promise<void>;
  readonly log?: (message: string) => void;
}

/** Builds the app unless `dist/` is fresh; resolves with whether it built. */
export async function ensureBuilt(options: EnsureBuiltOptions = {}): Promise<boolean> {
  const distDir = options.distDir ?? DIST_DIR;
  const stamp = sourceStamp();
  if (isFresh(distDir, stamp)) return false;
  return withLock(`${distDir}.lock`, async () => {
    if (isFresh(distDir, stamp)) return false;
    options.log?.('web: building the app (dist/ is missing or stale)');
    const outDir = `${distDir}.${process.pid}.tmp`;
    rmSync(outDir, { recursive: true, force: true });
    await (options.build ?? viteBuildInChild)(outDir, stamp);
    if (!existsSync(join(outDir, 'index.html'))) throw new Error(`web: the build wrote no index.html`);
    rmSync(distDir, { recursive: true, force: true });
    renameSync(outDir, distDir);
    return true;
  });
}

/** Vite in its own process: its memory is given back once the build is done. */
function viteBuildInChild(outDir: string, stamp: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(PACKAGE_DIR, 'src', 'vite-build.ts'), outDir, stamp], {
      // Always React's production build, whatever NODE_ENV the server runs with (tests run it with `test`).
      env: { ...process.env, NODE_ENV: 'production' },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`web: vite build exited with ${code}`)),
    );
  });
}
