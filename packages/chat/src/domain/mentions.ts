/**
 * Mentions are written `@<user id>` in the body (clients show the name; the
 * id is what stays true when a name changes, as with Slack's `<@U123>`). The
 * service stores the ids of mentioned members; a mention of someone who is not
 * a member is left as text.
 */
const MENTION = /(?<![\w@])@([A-Za-z0-9][A-Za-z0-9_-]{0,127})/g;

export function parseMentions(body: string): string[] {
  const ids = new Set<string>();
  for (const match of body.matchAll(MENTION)) {
    ids.add(match[1] as string);
    if (ids.size >= 50) break;
  }
  return [...ids];
}
