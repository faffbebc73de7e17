import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  defineErrors,
  isProblemError,
  PROBLEM_CONTENT_TYPE,
  ProblemError,
  problemType,
  sendProblem,
  toProblem,
} from './errors.ts';
import { startHttpServer } from './testing.ts';

const errors = defineErrors({
  TEST_NOT_FOUND: { status: 404, title: 'Not Found' },
  TEST_RATE_LIMITED: { status: 429, title: 'Too Many Requests' },
});

describe('defineErrors', () => {
  it('keeps the table and creates errors carrying the status and title of their row', () => {
    assert.equal(errors.table.TEST_NOT_FOUND.status, 404);
    const err = errors.create('TEST_RATE_LIMITED', 'slow down');
    assert.ok(err instanceof Error);
    assert.equal(err.name, 'ProblemError');
    assert.equal(err.code, 'TEST_RATE_LIMITED');
    assert.equal(err.status, 429);
    assert.equal(err.title, 'Too Many Requests');
    assert.equal(err.detail, 'slow down');
    assert.equal(err.message, 'slow down');
    assert.equal(err.headers, undefined);
    assert.equal(err.extensions, undefined);
    assert.equal(err.cause, undefined);
  });

  it('uses the title as message when there is no detail', () => {
    const err = errors.create('TEST_NOT_FOUND');
    assert.equal(err.detail, undefined);
    assert.equal(err.message, 'Not Found');
  });

  it('keeps headers, extensions and the cause', () => {
    const cause = new Error('upstream said no');
    const err = errors.create('TEST_RATE_LIMITED', undefined, {
      headers: { 'retry-after': '7' },
      extensions: { retryAfterSeconds: 7 },
      cause,
    });
    assert.deepEqual(err.headers, { 'retry-after': '7' });
    assert.deepEqual(err.extensions, { retryAfterSeconds: 7 });
    assert.equal(err.cause, cause);
  });
});

describe('isProblemError', () => {
  it('accepts a ProblemError', () => {
    assert.equal(isProblemError(errors.create('TEST_NOT_FOUND')), true);
  });

  it('is duck-typed on name, code and status, so another copy of the package matches', () => {
    const foreign = Object.assign(new Error('x'), { name: 'ProblemError', code: 'OTHER_CODE', status: 409 });
    assert.equal(isProblemError(foreign), true);
    assert.equal(isProblemError({ name: 'ProblemError', code: 'OTHER_CODE', status: 409 }), true);
  });

  it('refuses a plain Error, an error with a code but no status, and non-objects', () => {
    assert.equal(isProblemError(new Error('boom')), false);
    const withCode = Object.assign(new Error('x'), { code: 'ECONNRESET' });
    assert.equal(isProblemError(withCode), false);
    assert.equal(isProblemError({ name: 'ProblemError', code: 'X', status: '500' }), false);
    assert.equal(isProblemError({ name: 'ProblemError', code: 1, status: 500 }), false);
    assert.equal(isProblemError({ name: 'TypeError', code: 'X', status: 500 }), false);
    assert.equal(isProblemError(null), false);
    assert.equal(isProblemError(undefined), false);
    assert.equal(isProblemError('ProblemError'), false);
  });
});

describe('toProblem', () => {
  it('turns a known error into a problem document with its code, status, detail and request id', () => {
    const doc = toProblem(errors.create('TEST_NOT_FOUND', 'no such ticket'), 'req-42', 'TEST_INTERNAL');
    assert.deepEqual(doc, {
      type: 'urn:gatehouse:problem:TEST_NOT_FOUND',
      title: 'Not Found',
      status: 404,
      code: 'TEST_NOT_FOUND',
      detail: 'no such ticket',
      requestId: 'req-42',
    });
  });

  it('leaves out detail and requestId when there are none', () => {
    const doc = toProblem(errors.create('TEST_NOT_FOUND'), undefined, 'TEST_INTERNAL');
    assert.equal('detail' in doc, false);
    assert.equal('requestId' in doc, false);
  });

  it('adds extension members but never lets them replace the standard members', () => {
    const err = errors.create('TEST_RATE_LIMITED', 'slow down', {
      extensions: { retryAfterSeconds: 3, status: 200, code: 'FAKE', type: 'about:blank', title: 'OK' },
    });
    const doc = toProblem(err, 'r1', 'TEST_INTERNAL');
    assert.equal(doc.retryAfterSeconds, 3);
    assert.equal(doc.status, 429);
    assert.equal(doc.code, 'TEST_RATE_LIMITED');
    assert.equal(doc.type, problemType('TEST_RATE_LIMITED'));
    assert.equal(doc.title, 'Too Many Requests');
  });

  it('turns an unknown error into a 500 with the given code and nothing of its message', () => {
    const secretMessage = 'connect ECONNREFUSED 10.1.2.3:5432 password=hunter2';
    const doc = toProblem(new Error(secretMessage), 'req-7', 'TEST_INTERNAL');
    assert.deepEqual(doc, {
      type: 'urn:gatehouse:problem:TEST_INTERNAL',
      title: 'Internal Server Error',
      status: 500,
      code: 'TEST_INTERNAL',
      requestId: 'req-7',
    });
    assert.equal('detail' in doc, false);
    assert.ok(!JSON.stringify(doc).includes('hunter2'));
    assert.ok(!JSON.stringify(doc).includes('ECONNREFUSED'));
  });

  it('treats thrown non-errors as unknown too', () => {
    for (const thrown of ['a string', 42, null, undefined, { status: 404 }]) {
      const doc = toProblem(thrown, undefined, 'TEST_INTERNAL');
      assert.equal(doc.status, 500);
      assert.equal(doc.code, 'TEST_INTERNAL');
      assert.equal('requestId' in doc, false);
      assert.equal('detail' in doc, false);
    }
  });

  it('treats an error with a status from a library (not a ProblemError) as unknown', () => {
    const libraryError = Object.assign(new Error('Body too large: secret stuff'), { status: 413, code: 'X' });
    const doc = toProblem(libraryError, undefined, 'TEST_INTERNAL');
    assert.equal(doc.status, 500);
    assert.ok(!JSON.stringify(doc).includes('secret stuff'));
  });
});

describe('sendProblem', () => {
  it('writes application/problem+json with content-length, no-store and the extra headers', async () => {
    const err = errors.create('TEST_RATE_LIMITED', 'trop de requêtes — ралли', {
      headers: { 'retry-after': '7' },
    });
    const upstream = await startHttpServer((_req, res) => {
      sendProblem(res, toProblem(err, 'req-1', 'TEST_INTERNAL'), err.headers);
    });
    try {
      const res = await fetch(upstream.url);
      const body = await res.text();
      assert.equal(res.status, 429);
      assert.equal(res.headers.get('content-type'), PROBLEM_CONTENT_TYPE);
      assert.equal(res.headers.get('cache-control'), 'no-store');
      assert.equal(res.headers.get('retry-after'), '7');
      assert.equal(Number(res.headers.get('content-length')), Buffer.byteLength(body));
      assert.notEqual(Buffer.byteLength(body), body.length, 'the detail has multi-byte characters');
      assert.deepEqual(JSON.parse(body), {
        type: 'urn:gatehouse:problem:TEST_RATE_LIMITED',
        title: 'Too Many Requests',
        status: 429,
        code: 'TEST_RATE_LIMITED',
        detail: 'trop de requêtes — ралли',
        requestId: 'req-1',
      });
    } finally {
      await upstream.close();
    }
  });

  it('writes a 500 for an unknown error without extra headers, and the content type cannot be overridden', async () => {
    const upstream = await startHttpServer((_req, res) => {
      sendProblem(res, toProblem(new Error('stack and all'), undefined, 'TEST_INTERNAL'));
    });
    const overriding = await startHttpServer((_req, res) => {
      sendProblem(res, toProblem(errors.create('TEST_NOT_FOUND'), undefined, 'TEST_INTERNAL'), {
        'content-type': 'text/html',
        'cache-control': 'public, max-age=3600',
      });
    });
    try {
      const res = await fetch(upstream.url);
      const body = await res.text();
      assert.equal(res.status, 500);
      assert.equal(res.headers.get('content-type'), PROBLEM_CONTENT_TYPE);
      assert.ok(!body.includes('stack and all'));
      assert.equal(JSON.parse(body).code, 'TEST_INTERNAL');

      const res2 = await fetch(overriding.url);
      await res2.text();
      assert.equal(res2.status, 404);
      assert.equal(res2.headers.get('content-type'), PROBLEM_CONTENT_TYPE);
      assert.equal(res2.headers.get('cache-control'), 'no-store');
    } finally {
      await upstream.close();
      await overriding.close();
    }
  });

  it('ProblemError can be built directly from a spec', () => {
    const err = new ProblemError('X_CODE', { status: 418, title: "I'm a teapot" });
    assert.equal(toProblem(err, undefined, 'TEST_INTERNAL').status, 418);
  });
});
