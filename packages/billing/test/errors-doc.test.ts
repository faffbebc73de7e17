import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { billErrors } from '../src/errors.ts';

test('every BILL_* code is documented with its status in the billing section of docs/errors.md', () => {
  const doc = readFileSync(join(import.meta.dirname, '../../../docs/errors.md'), 'utf8');
  const section = doc.split(/^## /m).find((s) => s.startsWith('billing\n'));
  assert.ok(section, 'docs/errors.md has a "## billing" section');
  for (const [code, spec] of Object.entries(billErrors.table)) {
    assert.match(
      section,
      new RegExp(`\\| ${code} \\| ${spec.status} \\|`),
      `${code} (${spec.status}) is not documented`,
    );
  }
  const documented = [...section.matchAll(/^\| (BILL_[A-Z_]+) \|/gm)].map((m) => m[1]);
  for (const code of documented)
    assert.ok(code !== undefined && code in billErrors.table, `${code} is documented but not in the table`);
});
