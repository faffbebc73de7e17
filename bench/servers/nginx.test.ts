import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nginxConfig } from './nginx.ts';

test('nginx runs as a tuned plain reverse proxy to the upstream', () => {
  const conf = nginxConfig('/tmp/x', 18081, 'http://127.0.0.1:18082');
  for (const line of [
    'worker_processes 1;',
    'access_log off;',
    'server 127.0.0.1:18082;',
    'keepalive 64;',
    'listen 127.0.0.1:18081;',
    'proxy_pass http://bench;',
    'proxy_http_version 1.1;',
    'proxy_set_header Connection "";',
  ]) {
    assert.ok(conf.includes(line), line);
  }
});
