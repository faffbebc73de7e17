import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { normalizeTarget } from './normalize-path.ts';

function accepted(target: string) {
  const result = normalizeTarget(target);
  assert.ok(result.ok, `expected ${target} to be accepted, got ${JSON.stringify(result)}`);
  return result;
}

function refused(target: string) {
  const result = normalizeTarget(target);
  assert.ok(!result.ok, `expected ${target} to be refused, got ${JSON.stringify(result)}`);
  return result.reason;
}

describe('normalizeTarget', () => {
  it('keeps canonical paths and the raw query as they are', () => {
    assert.deepEqual(accepted('/api/venues/42?x=1&y=%2F'), {
      ok: true,
      path: '/api/venues/42',
      query: '?x=1&y=%2F',
    });
    assert.equal(accepted('/').path, '/');
    assert.equal(accepted('/api/v1.2/file.json').path, '/api/v1.2/file.json');
    assert.equal(accepted('/api/venues/').path, '/api/venues/');
  });

  it('resolves dot segments, including encoded ones, after decoding once', () => {
    assert.equal(accepted('/api/public/../admin/x').path, '/api/admin/x');
    assert.equal(accepted('/api/public/%2e%2e/admin').path, '/api/admin');
    assert.equal(accepted('/api/public/%2E%2E/admin').path, '/api/admin');
    assert.equal(accepted('/api/./venues/.').path, '/api/venues/');
    assert.equal(accepted('/api/venues/..').path, '/api/');
    assert.equal(accepted('/api/a/b/../../c').path, '/api/c');
  });

  it('merges repeated slashes', () => {
    assert.equal(accepted('//api//venues///1').path, '/api/venues/1');
  });

  it('re-encodes decoded characters canonically, keeping pchar', () => {
    assert.equal(accepted('/api/caf%C3%A9').path, '/api/caf%C3%A9');
    assert.equal(accepted('/api/a%20b').path, '/api/a%20b');
    assert.equal(accepted('/api/%41%3a%40').path, '/api/A:@');
    assert.equal(accepted('/api/x/../a%24b').path, '/api/a$b');
  });

  it('refuses targets that are not origin-form', () => {
    assert.equal(refused('http://evil.example/api'), 'not_origin_form');
    assert.equal(refused('*'), 'not_origin_form');
    assert.equal(refused('evil.example:443'), 'not_origin_form');
    assert.equal(refused(''), 'not_origin_form');
  });

  it('refuses encoded slashes, backslashes, NUL, controls and encoded %', () => {
    for (const target of [
      '/api/public%2F..%2Fadmin',
      '/api/a%2fb',
      '/api/a%5Cb',
      '/api/a%00b',
      '/api/a%0Ab',
      '/api/%7F',
      '/api/%252e%252e/admin',
    ]) {
      assert.equal(refused(target), 'bad_encoding', target);
    }
  });

  it('refuses raw characters no canonical path contains', () => {
    for (const target of [
      '/api/a\\b',
      '/api/a;b',
      '/api/public/..;/admin',
      '/api/a b',
      '/api/\u00e9',
      '/api/a"b',
      '/api/<x>',
    ]) {
      assert.equal(refused(target), 'forbidden_character', target);
    }
  });

  it('refuses malformed escapes and invalid UTF-8 (overlong dots)', () => {
    assert.equal(refused('/api/%zz'), 'bad_encoding');
    assert.equal(refused('/api/%4'), 'bad_encoding');
    assert.equal(refused('/api/%C0%AE%C0%AE/admin'), 'bad_encoding');
    assert.equal(refused('/api/%3Bjsessionid'), 'bad_encoding');
  });

  it('refuses climbing above the root', () => {
    assert.equal(refused('/../etc/passwd'), 'above_root');
    assert.equal(refused('/api/../../x'), 'above_root');
    assert.equal(refused('/%2e%2e/x'), 'above_root');
  });

  it('refuses fragments and controls in the query', () => {
    assert.equal(refused('/api?x=1#frag'), 'bad_query');
    assert.equal(refused('/api?x=1 2'), 'bad_query');
  });
});
