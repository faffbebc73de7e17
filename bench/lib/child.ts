import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * A server under test, run as a child process. Its stdout and stderr go to a
 * log file, not to a pipe: reading pipes would cost the load generator CPU
 * during the measurement, and the file is there to quote when it fails.
 */
export interface Child {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
  /** Resolves with the exit code (or signal name) when the process ends. */
  readonly exited: Promise<number | string>;
  running(): boolean;
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<number | string>;
  tail(lines?: number): string;
}

export interface SpawnOptions {
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly logFile: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
}

export function spawnChild(o: SpawnOptions): Child {
  const fd = openSync(o.logFile, 'w');
  let proc: ChildProcess;
  try {
    proc = spawn(o.command, o.args, { stdio: ['ignore', fd, fd], env: o.env ?? process.env, cwd: o.cwd });
  } finally {
    closeSync(fd);
  }
  let done = false;
  const exited = new Promise<number | string>((resolve) => {
    proc.once('exit', (code, signal) => {
      done = true;
      resolve(code ?? signal ?? 'unknown');
    });
    proc.once('error', (err) => {
      done = true;
      resolve(`spawn error: ${err.message}`);
    });
  });
  const tail = (lines = 30): string => {
    try {
      return readFileSync(o.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  };
  return {
    name: o.name,
    pid: proc.pid ?? -1,
    logFile: o.logFile,
    exited,
    running: () => !done,
    tail,
    async stop(signal = 'SIGTERM', graceMs = 10_000) {
      if (done) return exited;
      proc.kill(signal);
      const timer = sleep(graceMs).then(() => 'timeout' as const);
      if ((await Promise.race([exited, timer])) === 'timeout') proc.kill('SIGKILL');
      return exited;
    },
  };
}

/** Polls `url` until it answers 200, the child dies, or the deadline passes. */
export async function waitForHttp(url: string, child: Child, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (!child.running()) {
      throw new Error(
        `${child.name} exited (${await child.exited}) before ${url} answered:\n${child.tail()}`,
      );
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1_000) });
      await res.arrayBuffer();
      if (res.status === 200) return;
      last = `status ${res.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await sleep(100);
  }
  throw new Error(`${child.name}: ${url} not ready after ${timeoutMs} ms (${last}):\n${child.tail()}`);
}
