import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type ChatControlEvent,
  type ChatEvent,
  type EntitlementRecord,
  FREE_ENTITLEMENT,
} from '@gatehouse/kit';
import {
  type AssertedIdentity,
  createAssertionSigner,
  type Database,
  openPostgres,
} from '@gatehouse/kit/service';
import { captureLogger, randomSecret } from '@gatehouse/kit/testing';
import WebSocket from 'ws';
import { buildApp, type ChatApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { memoryEntitlements } from '../src/domain/limits.ts';

export interface TestBackend {
  readonly name: string;
  readonly skip: string | false;
  open(): Promise<Database | undefined>;
}

const postgresUrl = process.env.GATEHOUSE_TEST_POSTGRES_URL;

/** PGlite always; Postgres (a fresh schema per app, dropped at close) when the test script started one. */
export const BACKENDS: readonly TestBackend[] = [
  { name: 'PGlite', skip: false, open: async () => undefined },
  {
    name: 'Postgres',
    skip:
      postgresUrl === undefined
        ? 'SKIPPED (Postgres not installed): GATEHOUSE_TEST_POSTGRES_URL is not set'
        : false,
    open: () =>
      openPostgres({ url: postgresUrl as string, schema: `chat_test_${randomBytes(6).toString('hex')}` }),
  },
];

export interface TestUser {
  readonly sub: string;
  readonly tid: string;
  /** The access token's expiry, signed into the assertion as the gateway does. */
  readonly tokenExp?: number;
  readonly jti?: string;
}

export function newTenant(): string {
  return randomUUID();
}

export function newUser(tid: string, extra: Partial<TestUser> = {}): TestUser {
  return { sub: randomUUID(), tid, ...extra };
}

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** The chat service on an in-memory PGlite (or the given backend), called as the gateway would. */
export async function startChat(
  env: Record<string, string> = {},
  backend: TestBackend = BACKENDS[0] as TestBackend,
  entitlements = new Map<string, EntitlementRecord>(),
) {
  const config = loadConfig({
    GATEWAY_ASSERTION_SECRET: randomSecret(),
    CHAT_DB_MEMORY: 'true',
    CHAT_DATA_DIR: mkdtempSync(join(tmpdir(), 'gh-chat-')),
    LOG_LEVEL: 'info',
    ...env,
  });
  const log = captureLogger('chat', 'info');
  const database = await backend.open();
  const chat: ChatApp = await buildApp(config, {
    logger: log.logger,
    entitlements: memoryEntitlements(entitlements),
    ...(database === undefined ? {} : { database }),
  });
  const sign = createAssertionSigner(config.assertionKeys);
  let n = 0;

  function headersFor(user: TestUser, method: string, path: string): Record<string, string> {
    const requestId = `chat-test-${++n}-${Date.now()}`;
    const identity = {
      sub: user.sub,
      tid: user.tid,
      roles: ['member'],
      jti: user.jti,
      tokenExp: user.tokenExp,
    };
    return {
      'x-request-id': requestId,
      'x-gateway-assertion': sign(identity as AssertedIdentity, {
        method,
        path: path.split('?')[0] as string,
        requestId,
      }),
    };
  }

  async function call(
    method: Method,
    url: string,
    options: { user?: TestUser; body?: unknown; headers?: Record<string, string>; raw?: string } = {},
  ) {
    const headers: Record<string, string> = { ...options.headers };
    if (options.user !== undefined) Object.assign(headers, headersFor(options.user, method, url));
    if (options.raw !== undefined) headers['content-type'] ??= 'application/json';
    return chat.app.inject({
      method,
      url,
      headers,
      ...(options.raw !== undefined
        ? { payload: options.raw }
        : options.body === undefined
          ? {}
          : { payload: options.body as object }),
    });
  }

  /** Calls that must succeed: the JSON answer, or a thrown error with the problem document. */
  async function ok<T = Record<string, unknown>>(
    method: Method,
    url: string,
    user: TestUser,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<T> {
    const res = await call(method, url, { user, body, ...(headers === undefined ? {} : { headers }) });
    if (res.statusCode >= 300) throw new Error(`${method} ${url}: ${res.statusCode} ${res.body}`);
    return (res.body === '' ? undefined : res.json()) as T;
  }

  let baseUrl: string | undefined;
  async function listen(): Promise<string> {
    baseUrl ??= await chat.app.listen({ host: '127.0.0.1', port: 0 });
    return baseUrl;
  }

  async function close(): Promise<void> {
    await chat.close();
    if (database !== undefined) {
      const schema = (await database.query<{ s: string }>('select current_schema() as s')).rows[0]?.s;
      if (schema?.startsWith('chat_test_')) await database.query(`drop schema ${schema} cascade`);
      await database.close();
    }
  }

  /** Gives a tenant a plan (as billing's record would). */
  function plan(tenantId: string, record: Partial<EntitlementRecord>): void {
    entitlements.set(tenantId, { ...FREE_ENTITLEMENT, ...record });
    chat.services.limits.invalidate(tenantId);
  }

  return { chat, config, log, call, ok, headersFor, listen, close, plan };
}

export type TestChat = Awaited<ReturnType<typeof startChat>>;

export interface Conversation {
  id: string;
  kind: string;
  name: string | null;
  lastSeq: number;
  unread?: number;
  mentions?: number;
}

export interface Message {
  id: string;
  body: string;
  seq: number;
  version: number;
  authorId: string;
  parentId: string | null;
  mentions: string[];
  reactions: Record<string, string[]>;
  editedAt: string | null;
  deletedAt: string | null;
}

export type Received = ChatEvent | ChatControlEvent;

/** A socket client that records every event it receives. */
export interface SocketClient {
  readonly ws: WebSocket;
  readonly events: Received[];
  readonly closed: Promise<{ code: number; reason: string }>;
  send(frame: unknown): void;
  /** The first event (already received or to come) that matches. */
  next(match: (e: Received) => boolean, ms?: number): Promise<Received>;
}

export function connectSocket(url: string, headers: Record<string, string>): Promise<SocketClient> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    const events: Received[] = [];
    const waiters: { match: (e: Received) => boolean; resolve: (e: Received) => void }[] = [];
    const closed = new Promise<{ code: number; reason: string }>((done) => {
      ws.on('close', (code, reason) => done({ code, reason: reason.toString() }));
    });
    ws.on('message', (data) => {
      const event = JSON.parse(data.toString()) as Received;
      events.push(event);
      for (const w of [...waiters]) {
        if (w.match(event)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(event);
        }
      }
      if (event.type === 'ready') {
        resolve({
          ws,
          events,
          closed,
          send: (frame) => ws.send(JSON.stringify(frame)),
          next(match, ms = 5000) {
            const found = events.find(match);
            if (found !== undefined) return Promise.resolve(found);
            return new Promise((ok, fail) => {
              const timer = setTimeout(() => fail(new Error('no matching event in time')), ms);
              waiters.push({
                match,
                resolve: (e) => {
                  clearTimeout(timer);
                  ok(e);
                },
              });
            });
          },
        });
      }
    });
    ws.on('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
    ws.on('error', reject);
  });
}

export async function openSocket(t: TestChat, user: TestUser): Promise<SocketClient> {
  const base = await t.listen();
  return connectSocket(
    `${base.replace('http', 'ws')}/api/chat/ws`,
    t.headersFor(user, 'GET', '/api/chat/ws'),
  );
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Starting an app (PGlite's first cluster in a process, migrations) is slow on
 * a loaded machine; it is not what the tests measure, so their setup hooks may
 * take longer than a test.
 */
export const STARTUP = { timeout: 600_000 } as const;
