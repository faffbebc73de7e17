import assert from 'node:assert/strict';
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Dispatcher } from 'undici';
import { createContext } from '../context.ts';
import { ResponseResponder } from '../pipeline/responder.ts';
import { CLIENT_GONE, codeError, ProxyHandler } from './proxy-handler.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** A stand-in for undici's controller that records what the handler asked of it. */
function controller() {
  const calls: string[] = [];
  const c = {
    calls,
    abort: (reason: Error) => calls.push(`abort:${(reason as Error & { code?: string }).code}`),
    pause: () => calls.push('pause'),
    resume: () => calls.push('resume'),
    aborted: false,
    paused: false,
    reason: null,
  };
  return c as typeof c & Dispatcher.DispatchController;
}

function attempt() {
  const req = new IncomingMessage(new Socket());
  req.method = 'GET';
  const res = new ServerResponse(req);
  const ctx = createContext(req, { res, responder: new ResponseResponder(res) }, performance.now());
  const handler = new ProxyHandler(ctx, res, 5_000);
  return { ctx, handler };
}

describe('ProxyHandler', () => {
  it('cancels the upstream request when the client goes away mid-answer', () => {
    const { ctx, handler } = attempt();
    const c = controller();
    handler.onRequestStart(c);
    handler.onResponseStart(c, 200, { 'content-type': 'application/json' });
    ctx.onClientGone?.();
    assert.deepEqual(c.calls, [`abort:${CLIENT_GONE}`]);
  });

  it('lets go of the controller once the answer is complete', async () => {
    const { ctx, handler } = attempt();
    const c = controller();
    handler.onRequestStart(c);
    handler.onResponseStart(c, 200, { 'content-type': 'application/json' });
    handler.onResponseData(c, Buffer.from('{"ok":true}'));
    handler.onResponseEnd();
    assert.deepEqual(await handler.done, { status: 200, held: false });
    assert.equal(ctx.onClientGone, undefined, 'nothing left to cancel');
    handler.abort(codeError(CLIENT_GONE));
    assert.deepEqual(c.calls, [], 'a finished attempt is not aborted');
  });

  it('lets go of the controller after an upstream error too', async () => {
    const { ctx, handler } = attempt();
    const c = controller();
    handler.onRequestStart(c);
    handler.onResponseError(c, Object.assign(new Error('reset'), { code: 'ECONNRESET' }));
    await assert.rejects(handler.done, { code: 'ECONNRESET' });
    assert.equal(ctx.onClientGone, undefined);
    handler.abort(codeError(CLIENT_GONE));
    assert.deepEqual(c.calls, []);
  });

  it('does not keep the controller (and what it reaches) alive after the end', async () => {
    // The request context still reaches the handler after the answer (the access log runs on
    // 'close'): a controller kept there carried every finished request through young-generation GCs.
    const { handler } = attempt();
    let c: ReturnType<typeof controller> | undefined = controller();
    const ref = new WeakRef(c);
    handler.onRequestStart(c);
    handler.onResponseStart(c, 204, {});
    handler.onResponseEnd();
    await handler.done;
    c = undefined;
    // WeakRef targets stay alive until the current job ends: collect in a later turn.
    await new Promise((r) => setImmediate(r));
    gc();
    assert.equal(ref.deref(), undefined, 'the handler still holds the controller');
    assert.ok(handler, 'the handler itself is still alive');
  });
});
