import { Agent, request } from 'node:http';
import { LatencyHistogram } from './histogram.ts';

/**
 * An open-loop load at an even pace: every millisecond, the requests due by
 * then are sent (rate × elapsed, so a late tick catches up), each on a
 * keep-alive connection, and each latency is measured from the moment it was
 * due, not from when it went out, so a stalled server (or client) is not
 * hidden by requests that were never sent (no coordinated omission).
 * autocannon's fixed rate sends a second's share in one burst per connection,
 * which at a few thousand requests per second queues dozens at once.
 */
export interface OpenLoopResult {
  readonly sent: number;
  readonly ok: number;
  readonly failures: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

export async function openLoop(
  url: string,
  headers: Record<string, string>,
  rate: number,
  seconds: number,
): Promise<OpenLoopResult> {
  const target = new URL(url);
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const histogram = new LatencyHistogram();
  let sent = 0;
  let ok = 0;
  let failures = 0;
  let pending = 0;
  let max = 0;
  const started = performance.now();
  const total = Math.round(rate * seconds);

  const send = (due: number) => {
    sent++;
    pending++;
    const req = request(
      { host: target.hostname, port: target.port, path: target.pathname, headers, agent },
      (res) => {
        res.resume();
        res.on('end', () => {
          const ms = performance.now() - due;
          histogram.record(ms);
          if (ms > max) max = ms;
          if (res.statusCode !== undefined && res.statusCode >= 200 && res.statusCode < 300) ok++;
          else failures++;
          pending--;
        });
      },
    );
    req.on('error', () => {
      failures++;
      pending--;
    });
    req.end();
  };

  await pace(rate, total, (_n, due) => send(due), started);
  const until = performance.now() + 10_000;
  while (pending > 0 && performance.now() < until) await new Promise((r) => setTimeout(r, 10));
  agent.destroy();
  return {
    sent,
    ok,
    failures: failures + pending,
    p50: histogram.percentile(50),
    p99: histogram.percentile(99),
    max,
  };
}

/**
 * The pacing of an open loop: every millisecond, calls `send(n, due)` for each
 * request due by then (n counts from 0; `due` is the `performance.now()` at
 * which it was due, spread evenly at `rate` per second from `started`), so a
 * late tick catches up instead of lowering the rate. Resolves once `total`
 * have been sent.
 */
export function pace(
  rate: number,
  total: number,
  send: (n: number, due: number) => void,
  started = performance.now(),
): Promise<void> {
  let sent = 0;
  return new Promise<void>((resolve) => {
    const tick = () => {
      // Request k is due at started + k / rate: by `elapsed`, requests 0 … ⌊elapsed × rate⌋ are.
      const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * rate) + 1);
      // Each request is stamped with the moment it was due, spread evenly over the interval.
      while (sent < due) {
        send(sent, started + (sent * 1000) / rate);
        sent++;
      }
      if (sent >= total) {
        clearInterval(timer);
        resolve();
      }
    };
    const timer = setInterval(tick, 1);
    tick();
  });
}
