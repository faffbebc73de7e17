import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { captureLogger } from '@gatehouse/kit/testing';
import { buildApp, isPageRoute, type WebApp } from './app.ts';
import { loadConfig } from './config.ts';
import { IMMUTABLE, NOT_STORED } from './static-files.ts';

const SCRIPT = `console.log(${JSON.stringify('x'.repeat(2000))});`;

function fakeDist(): string {
  const dir = mkdtempSync(join(tmpdir(), 'gh-web-dist-'));
  mkdirSync(join(dir, 'assets'));
  writeFileSync(
    join(dir, 'index.html'),
    '<!doctype html><title>t</title><script type="module" src="/assets/index-AbC123.js"></script>',
  );
  writeFileSync(join(dir, 'assets', 'index-AbC123.js'), SCRIPT);
  writeFileSync(join(dir, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"></svg>');
  writeFileSync(join(dir, '.source-stamp'), 'x\n');
  return dir;
}

describe('web server', () => {
  let web: WebApp;
  before(async () => {
    const config = loadConfig({ WEB_DIST_DIR: fakeDist(), NODE_ENV: 'test' });
    web = await buildApp(config, { logger: captureLogger('web').logger });
  });
  after(() => web.close());

  it('serves index.html for page routes, never stored', async () => {
    for (const url of ['/', '/team', '/chat/c/123', '/reset-password?x=1']) {
      const res = await web.app.inject({ url });
      assert.equal(res.statusCode, 200, url);
      assert.match(res.headers['content-type'] as string, /^text\/html/);
      assert.equal(res.headers['cache-control'], NOT_STORED);
      assert.match(res.body, /<title>t<\/title>/);
    }
  });

  it('serves hashed assets with a year of cache and compressed when asked', async () => {
    const res = await web.app.inject({
      url: '/assets/index-AbC123.js',
      headers: { 'accept-encoding': 'gzip' },
    });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['cache-control'], IMMUTABLE);
    assert.equal(res.headers['content-encoding'], 'gzip');
    assert.equal(res.headers.vary, 'accept-encoding');
    assert.equal(gunzipSync(res.rawPayload).toString(), SCRIPT);
    const plain = await web.app.inject({ url: '/assets/index-AbC123.js' });
    assert.equal(plain.headers['content-encoding'], undefined);
    assert.equal(plain.body, SCRIPT);
    const br = await web.app.inject({
      url: '/assets/index-AbC123.js',
      headers: { 'accept-encoding': 'gzip, br' },
    });
    assert.equal(br.headers['content-encoding'], 'br');
    const refused = await web.app.inject({
      url: '/assets/index-AbC123.js',
      headers: { 'accept-encoding': 'br;q=0, gzip;q=0' },
    });
    assert.equal(refused.headers['content-encoding'], undefined);
  });

  it('answers a matching If-None-Match with 304', async () => {
    const first = await web.app.inject({ url: '/favicon.svg' });
    const etag = first.headers.etag as string;
    assert.match(etag, /^"[A-Za-z0-9_-]+"$/);
    const again = await web.app.inject({ url: '/favicon.svg', headers: { 'if-none-match': etag } });
    assert.equal(again.statusCode, 304);
    assert.equal(again.body, '');
  });

  it('answers a missing file or an /api path with a 404 problem, never the page', async () => {
    for (const url of ['/assets/missing-123.js', '/robots.txt', '/api/nothing', '/api']) {
      const res = await web.app.inject({ url });
      assert.equal(res.statusCode, 404, url);
      assert.match(res.headers['content-type'] as string, /application\/problem\+json/);
      assert.equal(res.json().code, 'WEB_NOT_FOUND');
    }
  });

  it('has the probes', async () => {
    assert.equal((await web.app.inject({ url: '/live' })).statusCode, 200);
    assert.equal((await web.app.inject({ url: '/ready' })).statusCode, 200);
  });

  it('tells page routes from files and API paths', () => {
    assert.equal(isPageRoute('/chat/general'), true);
    assert.equal(isPageRoute('/main.js'), false);
    assert.equal(isPageRoute('/api/x'), false);
    assert.equal(isPageRoute('/apix'), true);
  });
});

describe('web config', () => {
  it('builds on start outside production only, and refuses unknown WEB_ variables', () => {
    assert.equal(loadConfig({}).buildOnStart, true);
    assert.equal(loadConfig({}).port, 4000);
    assert.equal(loadConfig({ NODE_ENV: 'production' }).buildOnStart, false);
    assert.equal(loadConfig({ NODE_ENV: 'production', WEB_BUILD_ON_START: 'true' }).buildOnStart, true);
    assert.throws(() => loadConfig({ WEB_PROT: '1' }), /WEB_PROT/);
  });

  it('refuses a dist folder without index.html', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-web-empty-'));
    await assert.rejects(
      buildApp(loadConfig({ WEB_DIST_DIR: dir }), { logger: captureLogger('web').logger }),
      /no index.html/,
    );
  });
});
