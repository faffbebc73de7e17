import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { captureLogger } from '@gatehouse/kit/testing';
import type { Redis } from 'ioredis';
import { contextFor } from '../test-context.ts';
import { createTicketRedeem, withoutTicket } from './ticket-redeem.ts';
import { memoryTicketStore, redisTicketStore, type TicketStore, Tickets, ticketKey } from './tickets.ts';

describe('tickets', () => {
  it('stores tickets under their hash only, and takes each once', async () => {
    let now = 1_000_000;
    const store = memoryTicketStore(() => now);
    const tickets = new Tickets(store, 30);
    const ticket = await tickets.mint({ token: 't', origin: undefined });
    assert.equal(ticketKey(ticket)?.includes(ticket), false, 'the key is not the ticket');
    assert.equal(ticketKey('short'), undefined);
    assert.deepEqual(await tickets.redeem(ticket), { token: 't', origin: undefined });
    assert.equal(await tickets.redeem(ticket), undefined, 'single use');
    const late = await tickets.mint({ token: 'late', origin: 'https://a.example' });
    now += 30_001;
    assert.equal(await tickets.redeem(late), undefined, 'expired');
    assert.equal(await tickets.redeem('x'), undefined, 'not a ticket');
    await tickets.close();
  });

  it('drops expired tickets from memory as new ones come', async () => {
    let now = 0;
    const store = memoryTicketStore(() => now);
    const first = new Tickets(store, 1);
    const old = await first.mint({ token: 'old', origin: undefined });
    now = 5_000;
    const fresh = await first.mint({ token: 'fresh', origin: undefined });
    now = 0; // were the old entry still there, it would be valid again
    assert.equal(await first.redeem(old), undefined);
    assert.deepEqual(await first.redeem(fresh), { token: 'fresh', origin: undefined });
  });

  it('reads Redis records defensively', async () => {
    const values = new Map<string, string>();
    const fake = {
      set: async (key: string, value: string) => void values.set(key, value),
      getdel: async (key: string) => {
        const value = values.get(key) ?? null;
        values.delete(key);
        return value;
      },
      disconnect: () => {},
    } as unknown as Redis;
    const tickets = new Tickets(redisTicketStore(fake), 30);
    const good = await tickets.mint({ token: 'tok', origin: 'https://a.example' });
    assert.deepEqual(await tickets.redeem(good), { token: 'tok', origin: 'https://a.example' });
    const bad = await tickets.mint({ token: 'tok', origin: undefined });
    values.set(ticketKey(bad) as string, JSON.stringify({ token: 42 }));
    assert.equal(await tickets.redeem(bad), undefined);
    const noOrigin = await tickets.mint({ token: 'tok', origin: undefined });
    assert.deepEqual(await tickets.redeem(noOrigin), { token: 'tok', origin: undefined });
    await tickets.close();
  });

  it('removes the ticket from the query the upstream receives', () => {
    assert.equal(withoutTicket('?ticket=abc'), '');
    assert.equal(withoutTicket('?a=1&ticket=abc&b=2'), '?a=1&b=2');
    assert.equal(withoutTicket('?a=1'), '?a=1');
  });

  it('refuses with 503 when the store cannot be reached, never letting the handshake through', async () => {
    const failing: TicketStore = {
      backend: 'redis',
      put: async () => {},
      take: async () => {
        throw new Error('connection refused');
      },
      close: async () => {},
    };
    const redeem = createTicketRedeem(new Tickets(failing, 30), captureLogger().logger);
    const ticket = 'A'.repeat(43);
    const ctx = contextFor({ url: `/ws?ticket=${ticket}` });
    ctx.query = `?ticket=${ticket}`;
    await assert.rejects(redeem(ctx), { code: 'GW_AUTH_UNAVAILABLE' });
    assert.equal(ctx.authorization, undefined);
  });
});
