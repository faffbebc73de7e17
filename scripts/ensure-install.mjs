// Runs before `npm start` and `npm test`, under whatever Node the machine has
// (plain JavaScript on purpose: the machine's Node may be older than 24).
// Installs the project's dependencies when they are missing or stale,
// including the `node` dev dependency, which puts Node 24 in
// node_modules/.bin so that every npm script after this one runs under it.
import { execSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const stampFile = join(root, 'node_modules', '.gatehouse-install-stamp');
const inputs = ['package.json', 'package-lock.json', ...listWorkspaceManifests()];

function listWorkspaceManifests() {
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8'));
  return Object.keys(lock.packages ?? {})
    .filter((path) => path.startsWith('packages/'))
    .map((path) => join(path, 'package.json'));
}

const hash = createHash('sha256');
for (const file of inputs) hash.update(file).update(readFileSync(join(root, file)));
const stamp = hash.digest('hex');

const nodeBin = join(root, 'node_modules', '.bin', 'node');
const current = existsSync(stampFile) ? readFileSync(stampFile, 'utf8').trim() : '';
if (current !== stamp || !existsSync(nodeBin)) {
  process.stdout.write('gatehouse: installing dependencies (npm install)…\n');
  // `npm install`, not `npm ci`: it installs what package-lock.json pins just the
  // same, and tolerates a lock written without the optional platform packages of
  // other systems (as npm does with omit-lockfile-registry-resolved), which
  // `npm ci` refuses.
  execSync('npm install --no-audit --no-fund', { cwd: root, stdio: 'inherit' });
  writeFileSync(stampFile, `${stamp}\n`);
}
const version = execSync(`"${nodeBin}" --version`, { encoding: 'utf8' }).trim();
if (!/^v24\./.test(version)) {
  process.stderr.write(`gatehouse: expected Node 24 in node_modules/.bin, found ${version}\n`);
  process.exit(1);
}
