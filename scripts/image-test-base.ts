import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/**
 * A stand-in for the official node image, for building deploy/docker/Dockerfile where no
 * container registry is reachable (only npm and Debian are, here and in CI): Debian bookworm
 * (debootstrap, minbase, from the Debian mirror) with the Node 24 binary of the npm `node`
 * package (the official build) and this machine's npm. It is NOT the image production builds
 * on; it lets the image build test run every stage of the Dockerfile for real.
 *
 *   node scripts/image-test-base.ts        # prints the image name; builds it once (as root, ~3 min)
 *
 * Needs buildah and debootstrap (Debian packages). Exits 2 with the reason when it cannot.
 */

const ROOT = join(import.meta.dirname, '..');
const NODE = realpathSync(join(ROOT, 'node_modules/node/bin/node'));
const version = execFileSync(NODE, ['--version'], { encoding: 'utf8' }).trim().slice(1);
export const TEST_BASE_IMAGE = `localhost/gatehouse-node-base:${version}-bookworm`;

const have = (path: string) => existsSync(path);
function fail(reason: string): never {
  process.stderr.write(`${reason}\n`);
  process.exit(2);
}
const buildah = (args: string[]) => execFileSync('buildah', args, { encoding: 'utf8' }).trim();

if (import.meta.main) {
  if (!have('/usr/bin/buildah')) fail('buildah is not installed (apt-get install -y buildah)');
  if (
    spawnSync('buildah', ['inspect', '--type', 'image', TEST_BASE_IMAGE], { stdio: 'ignore' }).status === 0
  ) {
    console.log(TEST_BASE_IMAGE);
    process.exit(0);
  }
  if (!have('/usr/sbin/debootstrap')) fail('debootstrap is not installed (apt-get install -y debootstrap)');
  if (process.getuid?.() !== 0) fail('building the base needs root (debootstrap)');
  const npmCli = realpathSync(execFileSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).trim());
  const npmDir = dirname(dirname(npmCli));
  const work = mkdtempSync(join(tmpdir(), 'gatehouse-base-'));
  const rootfs = join(work, 'rootfs');
  let container: string | undefined;
  try {
    const boot = spawnSync(
      'debootstrap',
      ['--variant=minbase', '--include=ca-certificates', 'bookworm', rootfs, 'http://deb.debian.org/debian'],
      { encoding: 'utf8' },
    );
    if (boot.status !== 0) fail(`debootstrap failed: ${boot.stderr.slice(-500)}`);
    cpSync(NODE, join(rootfs, 'usr/local/bin/node'));
    mkdirSync(join(rootfs, 'usr/local/lib/node_modules'), { recursive: true });
    execFileSync('cp', ['-a', npmDir, join(rootfs, 'usr/local/lib/node_modules/npm')]);
    symlinkSync('../lib/node_modules/npm/bin/npm-cli.js', join(rootfs, 'usr/local/bin/npm'));
    const env = ['--env', 'PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin'];
    // This machine's trust store (with a proxy's certificate authority, when it needs one to reach npm).
    const extraCa = process.env.NODE_EXTRA_CA_CERTS ?? '/etc/ssl/certs/ca-certificates.crt';
    if (existsSync(extraCa)) {
      cpSync(extraCa, join(rootfs, 'usr/local/share/ca-certificates/gatehouse-extra.crt'));
      env.push('--env', 'NODE_EXTRA_CA_CERTS=/usr/local/share/ca-certificates/gatehouse-extra.crt');
    }
    container = buildah(['from', 'scratch']);
    const mount = buildah(['mount', container]);
    execFileSync('cp', ['-a', `${rootfs}/.`, `${mount}/`]);
    buildah(['unmount', container]);
    buildah(['config', ...env, '--cmd', 'node', container]);
    buildah(['commit', '--quiet', container, TEST_BASE_IMAGE]);
    console.log(TEST_BASE_IMAGE);
  } finally {
    if (container !== undefined) spawnSync('buildah', ['rm', container], { stdio: 'ignore' });
    rmSync(work, { recursive: true, force: true });
  }
}
