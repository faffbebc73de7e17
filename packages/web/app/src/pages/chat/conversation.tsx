import { useCallback, useEffect, useRef, useState } from 'react';
import type { ChatMessage, Conversation } from '../../api/chat.ts';
import * as chat from '../../api/chat.ts';
import { type RealtimeEvent, subscribe } from '../../api/realtime.ts';
import { ErrorNotice } from '../../components/forms.tsx';
import { useMe } from '../../session-context.tsx';
import { Composer } from './composer.tsx';
import { MessageBody } from './message-body.tsx';
import { nameOf } from './people.ts';

const EMOJI = ['👍', '❤️', '😄', '🎉'];

/**
 * One conversation's messages, kept by id (an event and a catch-up page that
 * carry the same message update it, never double it), ordered by sequence.
 * `cursor` is the highest version seen: after any reconnect the service is
 * asked for everything that changed since.
 */
export function ConversationView(props: {
  conversation: Conversation;
  people: ReadonlyMap<string, string>;
  onRead: (conversationId: string, seq: number) => void;
}) {
  const { conversation, people } = props;
  const me = useMe();
  const [messages, setMessages] = useState<ReadonlyMap<string, ChatMessage>>(new Map());
  const [hasMore, setHasMore] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const [typing, setTyping] = useState<ReadonlyMap<string, number>>(new Map());
  const [thread, setThread] = useState<ChatMessage | undefined>(undefined);
  const [editing, setEditing] = useState<string | undefined>(undefined);
  const cursor = useRef(0);
  const list = useRef<HTMLOListElement>(null);
  const stickToBottom = useRef(true);
  const id = conversation.id;

  const upsert = useCallback((incoming: readonly ChatMessage[]) => {
    if (incoming.length === 0) return;
    setMessages((current) => {
      const next = new Map(current);
      for (const m of incoming) {
        const known = next.get(m.id);
        if (known === undefined || known.version <= m.version) next.set(m.id, m);
        cursor.current = Math.max(cursor.current, m.version);
      }
      return next;
    });
  }, []);

  const catchUp = useCallback(async () => {
    try {
      for (let page = 0; page < 20; page++) {
        const res = await chat.history(id, { since: cursor.current, limit: 100 });
        upsert(res.messages);
        if (res.since !== undefined) cursor.current = Math.max(cursor.current, res.since);
        if (!res.hasMore) break;
      }
    } catch (err) {
      setError(err);
    }
  }, [id, upsert]);

  useEffect(() => {
    let live = true;
    setMessages(new Map());
    cursor.current = 0;
    stickToBottom.current = true;
    chat.history(id).then(
      (page) => {
        if (!live) return;
        upsert(page.messages);
        cursor.current = Math.max(cursor.current, page.lastSeq);
        setHasMore(page.hasMore);
      },
      (err) => live && setError(err),
    );
    const off = subscribe({
      event: (event: RealtimeEvent) => {
        if (event.conversationId !== id) return;
        if (
          event.type === 'message.created' ||
          event.type === 'message.edited' ||
          event.type === 'message.deleted'
        ) {
          upsert([event.message as ChatMessage]);
        } else if (event.type === 'reaction.added' || event.type === 'reaction.removed') {
          // The event says what changed; the message's whole state comes with the catch-up.
          void catchUp();
        } else if (event.type === 'typing' && event.userId !== me.user.id) {
          const until = Date.parse(String(event.expiresAt));
          setTyping((t) => new Map(t).set(String(event.userId), until));
        }
      },
      reconnected: () => void catchUp(),
    });
    return () => {
      live = false;
      off();
    };
  }, [id, upsert, catchUp, me.user.id]);

  // Typing indicators fade when they expire.
  useEffect(() => {
    if (typing.size === 0) return;
    const timer = setInterval(() => {
      const now = Date.now();
      setTyping((t) => new Map([...t].filter(([, until]) => until > now)));
    }, 1000);
    return () => clearInterval(timer);
  }, [typing.size]);

  const ordered = [...messages.values()].filter((m) => m.parentId === null).sort((a, b) => a.seq - b.seq);
  const newest = ordered.at(-1)?.seq ?? 0;
  const { onRead } = props;
  useEffect(() => {
    if (newest > conversation.lastReadSeq) onRead(id, newest);
    if (stickToBottom.current && list.current !== null) list.current.scrollTop = list.current.scrollHeight;
  }, [newest, conversation.lastReadSeq, id, onRead]);

  async function loadOlder() {
    const oldest = ordered[0];
    if (oldest === undefined) return;
    const el = list.current;
    const before = el === null ? 0 : el.scrollHeight - el.scrollTop;
    try {
      const page = await chat.history(id, { before: oldest.id });
      stickToBottom.current = false;
      upsert(page.messages);
      setHasMore(page.hasMore);
      // Keep the message that was on top where it was.
      requestAnimationFrame(() => {
        if (el !== null) el.scrollTop = el.scrollHeight - before;
      });
    } catch (err) {
      setError(err);
    }
  }

  async function send(body: string, parentId?: string): Promise<boolean> {
    try {
      upsert([await chat.send(id, body, crypto.randomUUID(), parentId)]);
      stickToBottom.current = true;
      setError(undefined);
      return true;
    } catch (err) {
      setError(err);
      return false;
    }
  }

  async function act(fn: () => Promise<unknown>) {
    try {
      const result = await fn();
      if (typeof result === 'object' && result !== null && 'id' in result) upsert([result as ChatMessage]);
      setError(undefined);
    } catch (err) {
      setError(err);
    }
  }

  const typists = [...typing.keys()].map((u) => nameOf(people, u));
  const title = conversation.kind === 'direct' ? 'Direct conversation' : `#${conversation.name ?? ''}`;
  const replies = thread === undefined ? [] : [...messages.values()].filter((m) => m.parentId === thread.id);

  const renderMessage = (m: ChatMessage) => {
    const mine = m.authorId === me.user.id;
    return (
      <li key={m.id} className={m.mentions.includes(me.user.id) ? 'message mentioned' : 'message'}>
        <p className="meta">
          <strong>{nameOf(people, m.authorId)}</strong>{' '}
          <time dateTime={m.createdAt}>{new Date(m.createdAt).toLocaleTimeString()}</time>
          {m.editedAt !== null && m.deletedAt === null ? ' (edited)' : ''}
        </p>
        {m.deletedAt !== null ? (
          <p className="body deleted">This message was deleted.</p>
        ) : editing === m.id ? (
          <EditBox
            initial={m.body}
            onSave={(body) =>
              act(async () => {
                const r = await chat.edit(id, m.id, body);
                setEditing(undefined);
                return r;
              })
            }
            onCancel={() => setEditing(undefined)}
          />
        ) : (
          <MessageBody body={m.body} people={people} />
        )}
        {m.deletedAt === null ? (
          <div className="message-actions">
            {EMOJI.map((e) => {
              const who = m.reactions[e] ?? [];
              const on = who.includes(me.user.id);
              return (
                <button
                  key={e}
                  type="button"
                  className={on ? 'reaction on' : 'reaction'}
                  aria-pressed={on}
                  onClick={() => void act(() => chat.react(id, m.id, e, !on))}
                >
                  {e}
                  {who.length > 0 ? ` ${who.length}` : ''}
                  <span className="visually-hidden"> (react with {e})</span>
                </button>
              );
            })}
            {m.parentId === null ? (
              <button type="button" className="link" onClick={() => setThread(m)}>
                Reply in thread
              </button>
            ) : null}
            {mine ? (
              <>
                <button type="button" className="link" onClick={() => setEditing(m.id)}>
                  Edit
                </button>
                <button
                  type="button"
                  className="link danger"
                  onClick={() => void act(() => chat.remove(id, m.id))}
                >
                  Delete
                </button>
              </>
            ) : null}
          </div>
        ) : null}
      </li>
    );
  };

  return (
    <section className="conversation" aria-labelledby="conversation-title">
      <h2 id="conversation-title">{title}</h2>
      {conversation.topic ? <p className="topic">{conversation.topic}</p> : null}
      <ErrorNotice error={error} />
      {hasMore ? (
        <button type="button" className="link" onClick={() => void loadOlder()}>
          Load older messages
        </button>
      ) : null}
      <ol
        ref={list}
        className="messages"
        aria-label={`Messages in ${title}`}
        // biome-ignore lint/a11y/noNoninteractiveTabindex: the message list scrolls, so it takes the keyboard too
        tabIndex={0}
        onScroll={(e) => {
          const el = e.currentTarget;
          stickToBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
          if (el.scrollTop === 0 && hasMore) void loadOlder();
        }}
      >
        {ordered.map(renderMessage)}
      </ol>
      <p className="typing" aria-live="polite">
        {typists.length === 0 ? '' : `${typists.join(', ')} ${typists.length === 1 ? 'is' : 'are'} typing…`}
      </p>
      {conversation.archivedAt ? (
        <p>This conversation is archived.</p>
      ) : (
        <Composer
          conversationId={id}
          label={`Message ${title}`}
          people={people}
          draftKey={`chat:${id}`}
          onSend={(body) => send(body)}
        />
      )}
      {thread === undefined ? null : (
        <aside className="thread" aria-label="Thread">
          <h3>Thread</h3>
          <ol className="messages">
            {renderMessage(thread)}
            {replies.sort((a, b) => a.seq - b.seq).map(renderMessage)}
          </ol>
          <ThreadLoader conversationId={id} rootId={thread.id} onLoaded={upsert} />
          <Composer
            conversationId={id}
            label="Reply in the thread"
            people={people}
            draftKey={`chat:${id}:thread:${thread.id}`}
            onSend={(body) => send(body, thread.id)}
          />
          <button type="button" className="link" onClick={() => setThread(undefined)}>
            Close the thread
          </button>
        </aside>
      )}
    </section>
  );
}

function ThreadLoader(props: {
  conversationId: string;
  rootId: string;
  onLoaded: (m: ChatMessage[]) => void;
}) {
  const { conversationId, rootId, onLoaded } = props;
  useEffect(() => {
    chat.history(conversationId, { thread: rootId }).then(
      (p) => onLoaded(p.messages),
      () => undefined,
    );
  }, [conversationId, rootId, onLoaded]);
  return null;
}

function EditBox(props: { initial: string; onSave: (body: string) => void; onCancel: () => void }) {
  const [text, setText] = useState(props.initial);
  return (
    <form
      className="edit"
      onSubmit={(e) => {
        e.preventDefault();
        props.onSave(text);
      }}
    >
      <label>
        Edit the message
        <textarea value={text} onChange={(e) => setText(e.target.value)} rows={2} />
      </label>
      <button type="submit">Save</button>
      <button type="button" className="link" onClick={props.onCancel}>
        Cancel
      </button>
    </form>
  );
}
