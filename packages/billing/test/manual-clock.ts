import type { Clock } from '../src/domain/clock.ts';

/** A clock the test moves by hand: period ends and grace deadlines without sleeping. */
export class ManualClock implements Clock {
  #now: number;
  constructor(start: number | string = '2026-01-15T10:00:00.000Z') {
    this.#now = typeof start === 'number' ? start : Date.parse(start);
  }
  now(): number {
    return this.#now;
  }
  advance(ms: number): void {
    this.#now += ms;
  }
  set(at: number | string): void {
    this.#now = typeof at === 'number' ? at : Date.parse(at);
  }
}
