import { nameOf } from './people.ts';

const MENTION = /(?<![\w@])@([A-Za-z0-9][A-Za-z0-9_-]{0,127})/g;

/**
 * A message body as text nodes only (React escapes them): markup in a
 * message is shown, never run. Mentions (`@<user id>`) are shown by name.
 */
export function MessageBody({ body, people }: { body: string; people: ReadonlyMap<string, string> }) {
  const parts: (string | { id: string })[] = [];
  let last = 0;
  for (const match of body.matchAll(MENTION)) {
    const id = match[1] as string;
    if (!people.has(id) && !/^[0-9a-f-]{36}$/i.test(id)) continue;
    parts.push(body.slice(last, match.index), { id });
    last = (match.index ?? 0) + match[0].length;
  }
  parts.push(body.slice(last));
  return (
    <p className="body">
      {parts.map((part, i) =>
        typeof part === 'string' ? (
          part
        ) : (
          // biome-ignore lint/suspicious/noArrayIndexKey: parts of one immutable body, in order
          <span key={i} className="mention">
            @{nameOf(people, part.id)}
          </span>
        ),
      )}
    </p>
  );
}
