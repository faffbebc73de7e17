import { createHash } from 'node:crypto';
import type { Database, Queryable } from '@gatehouse/kit/service';
import { isProblemError, PROBLEM_CONTENT_TYPE, toProblem } from '@gatehouse/kit/service';
import type { FastifyReply, FastifyRequest } from 'fastify';
import {
  claimIdempotencyKey,
  completeIdempotencyKey,
  type IdempotencyClaim,
  releaseIdempotencyKey,
} from '../db/idempotency.ts';
import { billError } from '../errors.ts';

export const IDEMPOTENCY_HEADER = 'idempotency-key';
const KEY = /^[\x21-\x7e]{1,255}$/;

export interface Answer {
  readonly status: number;
  readonly body: unknown;
}

/** Stable across key order, so a client that re-serialises its body is not refused. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object')
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(value) ?? 'null';
}

interface KeyOf {
  /** The caller: keys of one caller never meet another's. */
  readonly scope: string;
  readonly key: string;
  /** Method, path and body (key order aside): the same key with another request is refused. */
  readonly hash: string;
}

function keyOf(req: FastifyRequest, header: string | string[]): KeyOf {
  if (typeof header !== 'string' || !KEY.test(header)) throw billError('BILL_IDEMPOTENCY_KEY_INVALID');
  return {
    scope: `${req.identity?.tid ?? '-'}:${req.identity?.sub ?? '-'}`,
    key: header,
    hash: createHash('sha256')
      .update(`${req.method} ${req.url.split('?')[0]} ${canonical(req.body ?? null)}`)
      .digest('hex'),
  };
}

/** A claim that is not the first: a refusal, or the first answer again. */
function answered(reply: FastifyReply, claim: Exclude<IdempotencyClaim, { kind: 'new' }>): FastifyReply {
  if (claim.kind === 'mismatch') throw billError('BILL_IDEMPOTENCY_KEY_REUSED');
  if (claim.kind === 'running')
    throw billError('BILL_IDEMPOTENCY_IN_PROGRESS', undefined, { headers: { 'retry-after': '1' } });
  reply.header('idempotent-replayed', 'true').code(claim.status);
  if (claim.status >= 400) reply.header('content-type', PROBLEM_CONTENT_TYPE);
  return reply.send(claim.body);
}

/**
 * Runs a POST once per `Idempotency-Key` (scoped to the caller): a retry gets
 * the first answer (marked `idempotent-replayed: true`), the same key with
 * another method, path or body is refused, and a key whose first request is
 * still running answers 409. Client errors are remembered like successes (a
 * retry gets the same refusal); an unexpected failure gives the key back.
 * Without the header the request simply runs.
 */
export async function idempotent(
  db: Database,
  req: FastifyRequest,
  reply: FastifyReply,
  run: () => Promise<Answer>,
): Promise<FastifyReply> {
  const header = req.headers[IDEMPOTENCY_HEADER];
  if (header === undefined) {
    const answer = await run();
    return reply.code(answer.status).send(answer.body);
  }
  const { scope, key, hash } = keyOf(req, header);
  const claim = await claimIdempotencyKey(db, scope, key, hash);
  if (claim.kind !== 'new') return answered(reply, claim);
  let answer: Answer;
  try {
    answer = await run();
  } catch (err) {
    if (isProblemError(err) && err.status >= 400 && err.status < 500) {
      await completeIdempotencyKey(db, scope, key, err.status, toProblem(err, req.id, 'BILL_INTERNAL'));
    } else {
      await releaseIdempotencyKey(db, scope, key).catch(() => {});
    }
    throw err;
  }
  await completeIdempotencyKey(db, scope, key, answer.status, answer.body);
  return reply.code(answer.status).send(answer.body);
}

/**
 * For a POST that must take effect exactly once (a usage report adds to a
 * counter): the key is required, and claiming it, the work and the stored
 * answer are one transaction. A failure rolls all three back, so the retry
 * runs again (nothing was counted; a refusal is not remembered, it changed
 * nothing); a retry that arrives while the first still runs waits on the
 * key's row and then gets the first answer. `idempotent` cannot promise this:
 * there a crash between the work and storing the answer leaves the key
 * claimed and the work done.
 */
export async function idempotentOnce(
  db: Database,
  req: FastifyRequest,
  reply: FastifyReply,
  run: (tx: Queryable) => Promise<Answer>,
): Promise<FastifyReply> {
  const { scope, key, hash } = keyOf(req, req.headers[IDEMPOTENCY_HEADER] ?? '');
  const outcome = await db.transaction(
    async (tx): Promise<{ earlier: Exclude<IdempotencyClaim, { kind: 'new' }> } | { answer: Answer }> => {
      const claim = await claimIdempotencyKey(tx, scope, key, hash);
      if (claim.kind !== 'new') return { earlier: claim };
      const answer = await run(tx);
      await completeIdempotencyKey(tx, scope, key, answer.status, answer.body);
      return { answer };
    },
  );
  if ('earlier' in outcome) return answered(reply, outcome.earlier);
  return reply.code(outcome.answer.status).send(outcome.answer.body);
}
