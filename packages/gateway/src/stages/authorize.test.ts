import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Identity } from '../identity/verifier.ts';
import { type CompiledRoute, parseRule } from '../routing/route-table.ts';
import { contextFor } from '../test-context.ts';
import { authorize, INSUFFICIENT_SCOPE_CHALLENGE } from './authorize.ts';

const route = {
  roleRules: [
    { ...parseRule('DELETE *'), roles: ['admin'] },
    { ...parseRule('* /billing/**'), roles: ['owner', 'admin'] },
  ],
} as unknown as CompiledRoute;

function request(method: string, segments: string[], roles: string[] | undefined, isPublic = false) {
  const ctx = contextFor({ method });
  ctx.route = route;
  ctx.segments = segments;
  ctx.isPublic = isPublic;
  ctx.identity = roles === undefined ? undefined : ({ sub: 'u', tid: 't', roles } as unknown as Identity);
  return ctx;
}

describe('authorize', () => {
  it('lets requests through that no rule matches', () => {
    assert.doesNotThrow(() => authorize(request('GET', ['venues'], ['member'])));
  });

  it('requires one of the roles of every matching rule', () => {
    assert.doesNotThrow(() => authorize(request('DELETE', ['venues', '1'], ['admin'])));
    assert.doesNotThrow(() => authorize(request('GET', ['billing', 'x'], ['owner'])));
    // DELETE /billing/x matches both rules: admin satisfies both, owner only one.
    assert.doesNotThrow(() => authorize(request('DELETE', ['billing', 'x'], ['admin'])));
    const ctx = request('DELETE', ['billing', 'x'], ['owner']);
    assert.throws(
      () => authorize(ctx),
      (err: { code: string; headers: Record<string, string> }) =>
        err.code === 'GW_FORBIDDEN' && err.headers['www-authenticate'] === INSUFFICIENT_SCOPE_CHALLENGE,
    );
    assert.equal(ctx.failure, 'role_required:DELETE *');
  });

  it('refuses when the identity has no roles at all', () => {
    assert.throws(() => authorize(request('DELETE', ['x'], undefined)), { code: 'GW_FORBIDDEN' });
  });

  it('does not apply roles to public requests or routes without rules', () => {
    assert.doesNotThrow(() => authorize(request('DELETE', ['x'], undefined, true)));
    const bare = contextFor({ method: 'DELETE' });
    assert.doesNotThrow(() => authorize(bare));
    bare.route = { roleRules: [] } as unknown as CompiledRoute;
    assert.doesNotThrow(() => authorize(bare));
  });
});
