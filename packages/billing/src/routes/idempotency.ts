import { createHash } from 'node:crypto';
import type { Database } from '@gatehouse/kit/service';
import { isProblemError, PROBLEM_CONTENT_TYPE, toProblem } from '@gatehouse/kit/service';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { claimIdempotencyKey, completeIdempotencyKey, releaseIdempotencyKey } from '../db/idempotency.ts';
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
  if (typeof header !== 'string' || !KEY.test(header)) throw billError('BILL_IDEMPOTENCY_KEY_INVALID');
  const scope = `${req.identity?.tid ?? '-'}:${req.identity?.sub ?? '-'}`;
  const hash = createHash('sha256')
    .update(`${req.method} ${req.url.split('?')[0]} ${canonical(req.body ?? null)}`)
    .digest('hex');
  const claim = await claimIdempotencyKey(db, scope, header, hash);
  if (claim.kind === 'mismatch') throw billError('BILL_IDEMPOTENCY_KEY_REUSED');
  if (claim.kind === 'running')
    throw billError('BILL_IDEMPOTENCY_IN_PROGRESS', undefined, { headers: { 'retry-after': '1' } });
  if (claim.kind === 'replay') {
    reply.header('idempotent-replayed', 'true').code(claim.status);
    if (claim.status >= 400) reply.header('content-type', PROBLEM_CONTENT_TYPE);
    return reply.send(claim.body);
  }
  let answer: Answer;
  try {
    answer = await run();
  } catch (err) {
    if (isProblemError(err) && err.status >= 400 && err.status < 500) {
      await completeIdempotencyKey(db, scope, header, err.status, toProblem(err, req.id, 'BILL_INTERNAL'));
    } else {
      await releaseIdempotencyKey(db, scope, header).catch(() => {});
    }
    throw err;
  }
  await completeIdempotencyKey(db, scope, header, answer.status, answer.body);
  return reply.code(answer.status).send(answer.body);
}
