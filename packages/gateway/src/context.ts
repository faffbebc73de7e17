import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Span } from '@opentelemetry/api';
import type { Identity, TokenFailure } from './identity/verifier.ts';
import type { Responder } from './pipeline/responder.ts';
import type { CompiledRoute } from './routing/route-table.ts';

export type OutboundHeaders = Record<string, string | string[]>;

/** Everything the stages learn about one request, filled in pipeline order. */
export interface RequestContext {
  readonly req: IncomingMessage;
  /** The response of a plain request; undefined for an upgrade (its answer goes to `socket`). */
  readonly res: ServerResponse | undefined;
  /** The client's raw socket of an upgrade request (undefined for a plain request). */
  readonly socket: Duplex | undefined;
  /**
   * An upgrade only: what the client sent after its request's head, held while the handshake is
   * decided (the socket is read meanwhile, so a client that leaves is noticed). `take` stops
   * holding and returns the bytes, for the tunnel to send first.
   */
  readonly early: { take(): Buffer } | undefined;
  /** Writes the gateway's own answers (refusals, a preflight) to `res` or, before any 101, to `socket`. */
  readonly responder: Responder;
  /** performance.now() when the request arrived. */
  readonly started: number;
  readonly method: string;
  requestId: string;
  /** The traceparent sent upstream (the gateway's own span as parent). */
  traceparent: string;
  /** The trace this request belongs to (on every log line about it). */
  traceId: string;
  /** The gateway's server span, when tracing exports (recorded or not, per sampling). */
  span: Span | undefined;
  tracestate: string | undefined;
  /** From the socket, or from x-forwarded-for through trusted proxies only. */
  clientIp: string;
  proto: string;
  host: string;
  /** The one Authorization header the client sent (undefined if none or several). */
  authorization: string | undefined;
  authorizationCount: number;
  /** Host headers sent (more than one is refused: RFC 9112 §3.2). */
  hostCount: number;
  /** The headers that will go upstream: the client's, filtered by the identity firewall. */
  headers: OutboundHeaders;
  /** Canonical path (decoded once, dot segments resolved, re-encoded) and raw query. */
  path: string;
  query: string;
  route: CompiledRoute | undefined;
  /** Path segments after the route prefix. */
  segments: string[];
  /** The path the upstream receives (its base path + the route's path). */
  upstreamPath: string;
  isPublic: boolean;
  identity: Identity | undefined;
  /** Headers on every answer, proxied or the gateway's own. */
  responseHeaders: Record<string, string>;
  /** Why the request was refused (for the access log). */
  failure: TokenFailure | string | undefined;
  upstreamMs: number | undefined;
  /** Set by the proxy while an upstream request is open: cancels it when the client goes away. */
  onClientGone: (() => void) | undefined;
  /** The client closed its connection before the answer was complete: no further stage runs. */
  clientGone: boolean;
}

export interface Exchange {
  readonly res?: ServerResponse | undefined;
  readonly socket?: Duplex | undefined;
  readonly early?: { take(): Buffer } | undefined;
  readonly responder: Responder;
}

export function createContext(req: IncomingMessage, exchange: Exchange, started: number): RequestContext {
  return {
    req,
    res: exchange.res,
    socket: exchange.socket,
    early: exchange.early,
    responder: exchange.responder,
    started,
    method: req.method ?? 'GET',
    requestId: '',
    traceparent: '',
    traceId: '',
    span: undefined,
    tracestate: undefined,
    clientIp: '',
    proto: 'http',
    host: '',
    authorization: undefined,
    authorizationCount: 0,
    hostCount: 0,
    headers: {},
    path: '/',
    query: '',
    route: undefined,
    segments: [],
    upstreamPath: '/',
    isPublic: false,
    identity: undefined,
    responseHeaders: {},
    failure: undefined,
    upstreamMs: undefined,
    onClientGone: undefined,
    clientGone: false,
  };
}

/** A stage returns DONE when it has answered the request itself (e.g. a CORS preflight). */
export const DONE = Symbol('done');
// biome-ignore lint/suspicious/noConfusingVoidType: a stage that never answers itself returns nothing
export type StageResult = void | typeof DONE;
export type Stage = (ctx: RequestContext) => StageResult | Promise<StageResult>;
