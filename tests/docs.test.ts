import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { routesMarkdown } from '../packages/gateway/src/cli.ts';
import { gatewayErrors } from '../packages/gateway/src/errors.ts';

/** The docs that could drift from the code are checked against it. */

const root = join(import.meta.dirname, '..');
const read = (path: string) => readFileSync(join(root, path), 'utf8');

describe('docs', () => {
  it('document every gateway error code with its status', () => {
    const errors = read('docs/errors.md');
    for (const [code, spec] of Object.entries(gatewayErrors.table)) {
      assert.match(
        errors,
        new RegExp(`\\| ${code} \\| ${spec.status} \\|`),
        `${code} (${spec.status}) is not in docs/errors.md`,
      );
    }
  });

  it('have docs/api-routes.md generated from the shipped configs (npm run docs:routes)', () => {
    const expected = routesMarkdown(['config/gateway.yaml', 'examples/tickettoken/gateway.yaml']);
    assert.equal(
      read('docs/api-routes.md'),
      expected,
      'docs/api-routes.md is out of date: run npm run docs:routes',
    );
  });
});
