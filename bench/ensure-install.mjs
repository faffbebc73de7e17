// Runs before `npm run bench` and `npm run profile`, under whatever Node the
// machine has (plain JavaScript on purpose: it may be older than 24).
// Installs the project when it is not installed at all (the gateway's
// dependencies and Node 24, via the root's own script), then bench/'s separate
// dependencies when they are missing or stale, so `npm run bench` works on a
// fresh clone.
import { execSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const bench = dirname(fileURLToPath(import.meta.url));
const root = join(bench, '..');
// Only on a fresh clone: a developer's tree is kept installed by `npm test` / `npm start`.
if (!existsSync(join(root, 'node_modules', '.bin', 'node'))) {
  execSync(`node "${join(root, 'scripts', 'ensure-install.mjs')}"`, { cwd: root, stdio: 'inherit' });
}

const stampFile = join(bench, 'node_modules', '.gatehouse-bench-install-stamp');
const hash = createHash('sha256');
for (const file of ['package.json', 'package-lock.json'])
  hash.update(file).update(readFileSync(join(bench, file)));
const stamp = hash.digest('hex');
const current = existsSync(stampFile) ? readFileSync(stampFile, 'utf8').trim() : '';
if (current !== stamp || !existsSync(join(bench, 'node_modules', '.bin', 'node'))) {
  process.stdout.write('bench: installing its dependencies (npm ci)…\n');
  execSync('npm ci --no-audit --no-fund', { cwd: bench, stdio: 'inherit' });
  writeFileSync(stampFile, `${stamp}\n`);
}
