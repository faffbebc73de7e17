import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseQueryString } from './query-string.ts';
import { isStorableText } from './storable-text.ts';

test('query values decode like the default: +, repeated keys, malformed escapes kept', () => {
  assert.deepEqual(
    { ...parseQueryString('q=a+b%20c&tag=x&tag=y&tag=z&bad=%zz&empty=&flag&%C3%A9t%C3%A9=%F0%9F%98%80') },
    { q: 'a b c', tag: ['x', 'y', 'z'], bad: '%zz', empty: '', flag: '', été: '😀' },
  );
});

test('invalid UTF-8 is kept as lone surrogates, which the storable-text rule refuses', () => {
  const parsed = parseQueryString('q=%ED%A0%80&r=tail%ED%BF%BF&ok=fine');
  assert.equal(isStorableText(parsed.q as string), false);
  assert.equal(isStorableText(parsed.r as string), false);
  assert.equal((parsed.r as string).startsWith('tail'), true);
  assert.equal(parsed.ok, 'fine');
});
