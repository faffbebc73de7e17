import {
  type BaseServiceConfig,
  baseServiceConfig,
  checkServiceEnv,
  type Env,
  parseConfig,
  pickServiceEnv,
  serviceEnvShape,
} from '@gatehouse/kit/service';
import { z } from 'zod';

export interface ChatConfig extends BaseServiceConfig {
  /** The gateway's public URL (the OpenAPI document's server). */
  readonly publicUrl: string;
  /** Largest message body in bytes (UTF-8). */
  readonly maxMessageBytes: number;
  readonly ws: {
    /** The server pings every client this often; one without a pong by the next ping is dropped. */
    readonly pingSeconds: number;
    /** Bytes queued for one client before typing is dropped (half) and the socket closed (all). */
    readonly maxBufferedBytes: number;
    /** How long a typing indicator lasts unless repeated. */
    readonly typingSeconds: number;
  };
  /** A direct conversation has at most this many members (1:1 and small groups). */
  readonly maxDirectMembers: number;
  /**
   * Billing's internal API: chat reports messages per tenant there (usage)
   * and, without Redis, reads each tenant's entitlement record from it.
   * Undefined: no usage reporting, and without Redis every tenant gets the
   * free plan's limits.
   */
  readonly billingUrl: string | undefined;
  /**
   * Reporting messages sent per tenant to billing, which then also counts
   * them for the message quota (on with `billingUrl`). Undefined: reporting
   * is off and the quota is counted from chat's own database.
   */
  readonly usage:
    | {
        /** How often accepted sends are sent to billing, in one batch. */
        readonly flushMs: number;
      }
    | undefined;
  /**
   * The identity service: its revocation feed is followed, closing a revoked
   * user's sockets (4401) without Redis too. Undefined: only the Redis channel
   * (with REDIS_URL) tells chat of revocations.
   */
  readonly authUrl: string | undefined;
}

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max).optional();

const envSchema = z
  .object({
    ...serviceEnvShape('CHAT'),
    CHAT_PUBLIC_URL: z.url().optional(),
    CHAT_MAX_MESSAGE_BYTES: int(256, 1024 * 1024),
    CHAT_WS_PING_SECONDS: int(1, 300),
    CHAT_WS_MAX_BUFFERED_BYTES: int(1024, 64 * 1024 * 1024),
    CHAT_TYPING_SECONDS: int(1, 60),
    CHAT_MAX_DIRECT_MEMBERS: int(2, 64),
    CHAT_BILLING_URL: z.url({ protocol: /^https?$/ }).optional(),
    CHAT_AUTH_URL: z.url({ protocol: /^https?$/ }).optional(),
    CHAT_USAGE_FLUSH_MS: int(50, 60_000),
  })
  .strict()
  .superRefine((env, ctx) => {
    checkServiceEnv('CHAT', env, (path, message) => ctx.addIssue({ code: 'custom', path: [path], message }));
    if (env.NODE_ENV === 'production' && env.CHAT_PUBLIC_URL === undefined) {
      ctx.addIssue({ code: 'custom', path: ['CHAT_PUBLIC_URL'], message: 'is required in production' });
    }
    if (env.CHAT_USAGE_FLUSH_MS !== undefined && env.CHAT_BILLING_URL === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['CHAT_USAGE_FLUSH_MS'],
        message: 'has no effect without CHAT_BILLING_URL (usage reporting is off)',
      });
    }
  });

/** Parses the chat service's configuration from the environment; every problem at once. */
export function loadConfig(env: Env): ChatConfig {
  const e = parseConfig(envSchema, pickServiceEnv(env, 'CHAT'), 'chat configuration (environment)');
  return {
    ...baseServiceConfig('CHAT', e, { name: 'chat', port: 4002 }),
    publicUrl: e.CHAT_PUBLIC_URL ?? 'http://127.0.0.1:8080',
    maxMessageBytes: e.CHAT_MAX_MESSAGE_BYTES ?? 16 * 1024,
    ws: {
      pingSeconds: e.CHAT_WS_PING_SECONDS ?? 30,
      maxBufferedBytes: e.CHAT_WS_MAX_BUFFERED_BYTES ?? 1024 * 1024,
      typingSeconds: e.CHAT_TYPING_SECONDS ?? 6,
    },
    maxDirectMembers: e.CHAT_MAX_DIRECT_MEMBERS ?? 9,
    billingUrl: e.CHAT_BILLING_URL,
    usage: e.CHAT_BILLING_URL === undefined ? undefined : { flushMs: e.CHAT_USAGE_FLUSH_MS ?? 2_000 },
    authUrl: e.CHAT_AUTH_URL,
  };
}
