import { type KeyboardEvent, useId, useRef, useState } from 'react';
import { sendFrame } from '../../api/realtime.ts';
import { useDraft } from '../../drafts.ts';
import { nameOf } from './people.ts';

/**
 * The message box: Enter sends, Shift+Enter is a new line. Typing `@` offers
 * the people the app knows; choosing one writes `@<their id>` (what the chat
 * service resolves), shown by name in the message. The text is a draft kept
 * per conversation until it is sent.
 */
export function Composer(props: {
  conversationId: string;
  label: string;
  people: ReadonlyMap<string, string>;
  onSend: (body: string) => Promise<boolean>;
  draftKey: string;
}) {
  const [text, setText, clear] = useDraft(props.draftKey);
  const [busy, setBusy] = useState(false);
  const lastTyping = useRef(0);
  const id = useId();
  const query = /(?:^|\s)@([^\s@]*)$/.exec(text)?.[1];
  const suggestions =
    query === undefined
      ? []
      : [...props.people.entries()]
          .filter(([, name]) => name.toLowerCase().includes(query.toLowerCase()))
          .slice(0, 5);

  async function submit() {
    const body = text.trim();
    if (body === '' || busy) return;
    setBusy(true);
    const ok = await props.onSend(body);
    setBusy(false);
    if (ok) clear();
  }

  function keyDown(event: KeyboardEvent<HTMLTextAreaElement>) {
    if (event.key === 'Enter' && !event.shiftKey) {
      event.preventDefault();
      void submit();
    }
  }

  function change(value: string) {
    setText(value);
    const now = Date.now();
    if (now - lastTyping.current > 2000) {
      lastTyping.current = now;
      sendFrame({ type: 'typing', conversationId: props.conversationId });
    }
  }

  function mention(userId: string) {
    setText(text.replace(/@([^\s@]*)$/, `@${userId} `));
  }

  return (
    <form
      className="composer"
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
    >
      <label htmlFor={id}>{props.label}</label>
      <textarea id={id} rows={2} value={text} onChange={(e) => change(e.target.value)} onKeyDown={keyDown} />
      {suggestions.length > 0 ? (
        <ul className="suggestions" aria-label="Mention someone">
          {suggestions.map(([userId]) => (
            <li key={userId}>
              <button type="button" onClick={() => mention(userId)}>
                @{nameOf(props.people, userId)}
              </button>
            </li>
          ))}
        </ul>
      ) : null}
      <button type="submit" disabled={busy || text.trim() === ''}>
        Send
      </button>
    </form>
  );
}
