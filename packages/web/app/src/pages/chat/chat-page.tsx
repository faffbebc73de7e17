import { useCallback, useEffect, useState } from 'react';
import type { ChatMessage, Conversation } from '../../api/chat.ts';
import * as chat from '../../api/chat.ts';
import {
  type RealtimeEvent,
  type RealtimeStatus,
  realtimeStatus,
  start,
  subscribe,
} from '../../api/realtime.ts';
import { ErrorNotice, Field, onSubmit, useAction } from '../../components/forms.tsx';
import { Page } from '../../components/page.tsx';
import { Link, navigate, usePath } from '../../router.tsx';
import { useMe } from '../../session-context.tsx';
import { ConversationView } from './conversation.tsx';
import { MessageBody } from './message-body.tsx';
import { nameOf, usePeople } from './people.ts';

function titleOf(c: Conversation, people: ReadonlyMap<string, string>, myId: string): string {
  if (c.kind !== 'direct') return `#${c.name ?? ''}`;
  const others = (c.members ?? []).filter((m) => m !== myId);
  return others.length === 0 ? 'Just you' : others.map((m) => nameOf(people, m)).join(', ');
}

/**
 * The chat: the conversation list (unread and mention counts kept live from
 * the socket's events), the open conversation, search, new channels and
 * direct conversations, and a banner while the live connection is down.
 */
export function ChatPage() {
  const me = useMe();
  const people = usePeople();
  const path = usePath();
  const selectedId = path.startsWith('/chat/') ? decodeURIComponent(path.slice('/chat/'.length)) : undefined;
  const [list, setList] = useState<Conversation[] | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [status, setStatus] = useState<RealtimeStatus>(realtimeStatus());

  const reload = useCallback(async () => {
    try {
      setList(await chat.conversations());
      setError(undefined);
    } catch (err) {
      setError(err);
    }
  }, []);

  useEffect(() => {
    start();
    void reload();
    return subscribe({
      status: setStatus,
      reconnected: () => void reload(),
      event: (event: RealtimeEvent) => {
        if (event.type === 'message.created') {
          const m = event.message as ChatMessage;
          setList((current) => {
            if (current === undefined) return current;
            if (!current.some((c) => c.id === m.conversationId)) {
              void reload();
              return current;
            }
            return current.map((c) => {
              if (c.id !== m.conversationId) return c;
              const counts = m.authorId !== me.user.id && m.seq > c.lastReadSeq;
              return {
                ...c,
                lastSeq: Math.max(c.lastSeq, m.seq),
                unread: c.unread + (counts ? 1 : 0),
                mentions: c.mentions + (counts && m.mentions.includes(me.user.id) ? 1 : 0),
              };
            });
          });
        } else if (event.type === 'member.joined' || event.type === 'member.left') {
          void reload();
        }
      },
    });
  }, [reload, me.user.id]);

  const markRead = useCallback((conversationId: string, seq: number) => {
    setList((current) =>
      current?.map((c) =>
        c.id === conversationId && seq > c.lastReadSeq
          ? { ...c, lastReadSeq: seq, unread: 0, mentions: 0 }
          : c,
      ),
    );
    void chat.markRead(conversationId, seq).catch(() => undefined);
  }, []);

  const selected = list?.find((c) => c.id === selectedId);
  return (
    <Page title="Chat" wide>
      {status !== 'online' && list !== undefined ? (
        <div className="notice warn offline" role="status">
          {status === 'connecting'
            ? 'Connecting to live updates…'
            : 'You are offline. New messages will appear when the connection is back; we keep trying.'}
        </div>
      ) : null}
      <ErrorNotice error={error} />
      <div className="chat">
        <nav className="conversations" aria-label="Conversations">
          <h2>Conversations</h2>
          {list === undefined ? (
            <p role="status">Loading…</p>
          ) : list.length === 0 ? (
            <p>No conversations yet. Create a channel below.</p>
          ) : (
            <ul>
              {list.map((c) => {
                const title = titleOf(c, people, me.user.id);
                const counts = [
                  c.unread > 0 ? `${c.unread} unread` : '',
                  c.mentions > 0 ? `${c.mentions} mention${c.mentions > 1 ? 's' : ''}` : '',
                ]
                  .filter((s) => s !== '')
                  .join(', ');
                return (
                  <li key={c.id}>
                    <Link
                      href={`/chat/${c.id}`}
                      aria-current={c.id === selectedId ? 'page' : undefined}
                      className={c.unread > 0 ? 'unread' : undefined}
                    >
                      <span className="conversation-name">{title}</span>
                      {counts === '' ? null : (
                        <span className="counts" data-testid="counts">
                          <span className="visually-hidden">, </span>
                          {counts}
                        </span>
                      )}
                    </Link>
                  </li>
                );
              })}
            </ul>
          )}
          <NewChannel onCreated={(c) => void reload().then(() => navigate(`/chat/${c.id}`))} />
          <BrowseChannels
            joined={list ?? []}
            onJoined={(id) => void reload().then(() => navigate(`/chat/${id}`))}
          />
          <DirectMessage
            people={people}
            onOpened={(c) => void reload().then(() => navigate(`/chat/${c.id}`))}
          />
        </nav>
        <div className="chat-main">
          <Search people={people} />
          {selected !== undefined ? (
            <ConversationView key={selected.id} conversation={selected} people={people} onRead={markRead} />
          ) : selectedId !== undefined && list !== undefined ? (
            <p>This conversation is not in your list. Pick one, or join it from the public channels.</p>
          ) : (
            <p>Pick a conversation.</p>
          )}
        </div>
      </div>
    </Page>
  );
}

function NewChannel({ onCreated }: { onCreated: (c: Conversation) => void }) {
  const [name, setName] = useState('');
  const [kind, setKind] = useState<'public' | 'private'>('public');
  const create = useAction(async () => {
    const c = await chat.createChannel(name.trim(), kind);
    setName('');
    onCreated(c);
  });
  return (
    <form onSubmit={onSubmit(() => void create.run())} className="form" aria-label="Create a channel">
      <Field label="New channel" name="channel" value={name} onChange={setName} autoComplete="off" />
      <fieldset>
        <legend>Who can join</legend>
        <label>
          <input type="radio" name="kind" checked={kind === 'public'} onChange={() => setKind('public')} />{' '}
          Anyone in the team
        </label>
        <label>
          <input type="radio" name="kind" checked={kind === 'private'} onChange={() => setKind('private')} />{' '}
          Invited people only
        </label>
      </fieldset>
      <button type="submit" disabled={create.busy || name.trim() === ''}>
        Create channel
      </button>
      <ErrorNotice error={create.error} />
    </form>
  );
}

function BrowseChannels({ joined, onJoined }: { joined: Conversation[]; onJoined: (id: string) => void }) {
  const [open, setOpen] = useState<Conversation[] | undefined>(undefined);
  const browse = useAction(async () => setOpen(await chat.publicChannels()));
  const join = useAction(async (id: string) => {
    await chat.join(id);
    onJoined(id);
  });
  const others = open?.filter((c) => !joined.some((j) => j.id === c.id));
  return (
    <div>
      <button type="button" className="link" onClick={() => void browse.run()}>
        Browse public channels
      </button>
      {others === undefined ? null : others.length === 0 ? (
        <p>No other public channels.</p>
      ) : (
        <ul>
          {others.map((c) => (
            <li key={c.id}>
              #{c.name}{' '}
              <button type="button" onClick={() => void join.run(c.id)} aria-label={`Join #${c.name}`}>
                Join
              </button>
            </li>
          ))}
        </ul>
      )}
      <ErrorNotice error={browse.error ?? join.error} />
    </div>
  );
}

function DirectMessage(props: { people: ReadonlyMap<string, string>; onOpened: (c: Conversation) => void }) {
  const me = useMe();
  const others = [...props.people.entries()].filter(([id]) => id !== me.user.id);
  const [who, setWho] = useState('');
  const open = useAction(async () => props.onOpened(await chat.openDirect([me.user.id, who])));
  if (others.length === 0) return null;
  return (
    <form onSubmit={onSubmit(() => void open.run())} className="form" aria-label="Message someone">
      <label htmlFor="dm-who">Message someone</label>
      <select id="dm-who" value={who} onChange={(e) => setWho(e.target.value)}>
        <option value="">Choose a person</option>
        {others.map(([id, name]) => (
          <option key={id} value={id}>
            {name}
          </option>
        ))}
      </select>
      <button type="submit" disabled={who === '' || open.busy}>
        Open
      </button>
      <ErrorNotice error={open.error} />
    </form>
  );
}

function Search({ people }: { people: ReadonlyMap<string, string> }) {
  const [q, setQ] = useState('');
  const [results, setResults] = useState<ChatMessage[] | undefined>(undefined);
  const run = useAction(async () => {
    setResults(await chat.search(q.trim()));
  });
  return (
    <search className="search">
      <form onSubmit={onSubmit(() => void run.run())} className="form inline" aria-label="Message search">
        <Field label="Search messages" name="q" type="search" value={q} onChange={setQ} autoComplete="off" />
        <button type="submit" disabled={q.trim() === ''}>
          Search
        </button>
      </form>
      <ErrorNotice error={run.error} />
      {results === undefined ? null : results.length === 0 ? (
        <p role="status">No messages match.</p>
      ) : (
        <ul className="results" aria-label="Search results">
          {results.map((m) => (
            <li key={m.id}>
              <Link href={`/chat/${m.conversationId}`}>{nameOf(people, m.authorId)}</Link>
              <MessageBody body={m.body} people={people} />
            </li>
          ))}
        </ul>
      )}
    </search>
  );
}
