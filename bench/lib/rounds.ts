import { type Contender, type Round, roundOrder, runRound } from './contest.ts';
import type { LoadShape } from './load.ts';
import type { BenchOptions } from './options.ts';
import { waitForQuiet } from './quiet.ts';
import { DISTURBED_PCT } from './report.ts';

/**
 * The alternating rounds. The machine may be shared, so a bounded budget of
 * extra time (BENCH_EXTRA_SECONDS) is spent on waiting for a quiet moment
 * before a round and on measuring a disturbed round once more (the less
 * disturbed of the two is kept). When the budget is gone the run goes on as
 * planned: the total time stays bounded.
 */
export async function runRounds(
  contenders: readonly Contender[],
  o: BenchOptions,
  shape: LoadShape,
  notes: string[],
): Promise<Map<string, Round[]>> {
  const results = new Map<string, Round[]>();
  const crashed = new Set<string>();
  let budgetMs = o.extraSeconds * 1000;
  let redone = 0;
  const quiet = async () => {
    if (budgetMs <= 0 || o.quietWaitSeconds === 0) return;
    const started = Date.now();
    await waitForQuiet(o.quietPct, Math.min(budgetMs, o.quietWaitSeconds * 1000));
    budgetMs -= Date.now() - started;
  };

  for (let round = 0; round < o.rounds; round++) {
    for (const c of roundOrder(contenders, round)) {
      if (crashed.has(c.id)) continue;
      await c.beforeRound?.();
      await quiet();
      let r = await runRound(c, round, o.seconds, shape);
      let suffix = '';
      if (
        r.otherCpuPct > DISTURBED_PCT &&
        budgetMs >= o.seconds * 1000 &&
        c.proxy?.child.running() !== false
      ) {
        log(c, r, o.rounds, 'disturbed, measuring again');
        await quiet();
        const started = Date.now();
        const again = await runRound(c, round, o.seconds, shape);
        budgetMs -= Date.now() - started;
        redone++;
        suffix = again.otherCpuPct < r.otherCpuPct ? '(second try kept)' : '(first try kept)';
        if (again.otherCpuPct < r.otherCpuPct) r = again;
      }
      results.set(c.id, [...(results.get(c.id) ?? []), r]);
      log(c, r, o.rounds, suffix);
      const server = c.proxy;
      if (server !== undefined && !server.child.running()) {
        const why = `${server.name} died during the run (exit ${await server.child.exited}):\n${server.child.tail(40)}`;
        console.error(`\n!!! ${why}\n`);
        notes.push(why);
        for (const other of contenders) if (other.proxy === server) crashed.add(other.id);
      }
    }
  }
  if (redone > 0) notes.push(`${redone} disturbed round(s) measured again (the less disturbed result kept)`);
  return results;
}

function log(c: Contender, r: Round, rounds: number, suffix = ''): void {
  const s = r.sample;
  console.log(
    [
      `round ${r.round + 1}/${rounds}`,
      c.label.padEnd(32),
      `${Math.round(s.rps).toString().padStart(7)} req/s`,
      `p50 ${s.p50.toFixed(2)} ms`,
      `p99 ${s.p99.toFixed(2)} ms`,
      `non-2xx ${s.non2xx}`,
      `errors ${s.errors + s.timeouts}`,
      `proxy CPU ${Number.isFinite(r.proxyCpuUsPerReq) ? Math.round(r.proxyCpuUsPerReq) : '–'} µs/req`,
      `other CPU ${r.otherCpuPct.toFixed(0)}%`,
      suffix,
    ]
      .join('  ')
      .trimEnd(),
  );
}
