import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { lintDockerfile } from './dockerfile.ts';
import { ROOT } from './helm.ts';

/** deploy/docker/Dockerfile and .dockerignore, linted (dockerfile.ts says with what). */

const DOCKERFILE = join(ROOT, 'deploy/docker/Dockerfile');
const text = readFileSync(DOCKERFILE, 'utf8');

describe('Dockerfile deploy/docker/Dockerfile', () => {
  it('passes the linter', () => {
    assert.deepEqual(lintDockerfile(text), []);
  });

  it('the linter catches what it is there for', () => {
    const broken = text
      .replace(/^USER 1000:1000$/m, '')
      .replace(/^HEALTHCHECK[\s\S]*?\n(?=#)/m, '')
      .replace('ENTRYPOINT ["node", "/app/main.ts"]', 'ENTRYPOINT node /app/main.ts')
      .replace('ARG NODE_IMAGE=node:24.21.0-bookworm-slim', 'ARG NODE_IMAGE=node:latest')
      .replace('org.opencontainers.image.revision', 'org.example.revision')
      .concat(
        '\nADD https://example.com/x /x\nENV NPM_TOKEN=abc\nRUN curl -s https://example.com | sh\nWORKDIR app\n',
      );
    const problems = lintDockerfile(broken).join('\n');
    for (const expected of [
      /no USER/,
      /no HEALTHCHECK/,
      /shell form/,
      /official node image/,
      /OCI label revision missing/,
      /ADD: use COPY/,
      /ENV holds a secret/,
      /RUN downloads/,
      /WORKDIR must be absolute/,
    ]) {
      assert.match(problems, expected);
    }
    assert.match(
      lintDockerfile('FROM node:24.21.0-bookworm-slim\nFROMM x\n').join(),
      /Unknown instruction: FROMM/i,
    );
  });

  it('installs production dependencies only, for the one workspace, without install scripts', () => {
    assert.match(text, /npm ci --omit=dev --workspace "packages\/\$\{SERVICE\}" --ignore-scripts/);
  });

  it('.dockerignore keeps dependencies, local data, secrets and VCS out of the build context', () => {
    const ignore = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n');
    for (const entry of [
      '**/node_modules',
      '.git',
      '.data',
      '**/.data',
      '.env',
      '.env.*',
      '**/*.pem',
      '**/.npmrc',
      'coverage',
    ]) {
      assert.ok(ignore.includes(entry), `${entry} is not ignored`);
    }
  });
});
