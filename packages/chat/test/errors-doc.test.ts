import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { chatErrors } from '../src/errors.ts';

test('every CHAT_* code is documented with its status in the chat section of docs/errors.md', () => {
  const doc = readFileSync(join(import.meta.dirname, '../../../docs/errors.md'), 'utf8');
  const section = doc.split(/^## /m).find((s) => s.startsWith('chat\n'));
  assert.ok(section, 'docs/errors.md has a "## chat" section');
  for (const [code, spec] of Object.entries(chatErrors.table)) {
    assert.match(
      section,
      new RegExp(`\\| ${code} \\| ${spec.status} \\|`),
      `${code} (${spec.status}) is not documented`,
    );
  }
  const documented = [...section.matchAll(/^\| (CHAT_[A-Z_]+) \|/gm)].map((m) => m[1]);
  for (const code of documented)
    assert.ok(code !== undefined && code in chatErrors.table, `${code} is documented but not in the table`);
});
