import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, describe, test } from 'node:test';
import { SMTPServer } from 'smtp-server';
import { startAuth } from './helpers.ts';

/**
 * Mail through SMTP, against a real SMTP server (smtp-server, in the test):
 * written to the outbox in the request's transaction, relayed after commit,
 * retried while the SMTP server is unreachable.
 */

interface Received {
  to: string;
  text: string;
}

async function smtpServer(port = 0) {
  const received: Received[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, callback) {
      let text = '';
      stream.on('data', (chunk: Buffer) => {
        text += chunk.toString('utf8');
      });
      stream.on('end', () => {
        received.push({ to: session.envelope.rcptTo.map((r) => r.address).join(','), text });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve()));
  const address = (server as unknown as { server: { address(): AddressInfo } }).server.address();
  return { received, port: address.port, close: () => new Promise<void>((r) => server.close(() => r())) };
}

async function until<T>(probe: () => T | undefined, ms: number, what: string): Promise<T> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const value = probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`timed out waiting for ${what}`);
}

describe('mail through SMTP', () => {
  test('a password reset mail reaches the SMTP server and its token works', async () => {
    const smtp = await smtpServer();
    after(() => smtp.close());
    const t = await startAuth({
      SMTP_URL: `smtp://127.0.0.1:${smtp.port}`,
      MAIL_FROM: 'Gatehouse <noreply@gatehouse.test>',
    });
    after(() => t.close());
    const user = await t.registerUser('smtp');
    const asked = await t.call('POST', '/api/auth/password-reset/request', { body: { email: user.email } });
    assert.equal(asked.statusCode, 202);
    const mail = await until(
      () => smtp.received.find((m) => m.to === user.email && /Reset/i.test(m.text)),
      5_000,
      'the reset mail',
    );
    assert.match(mail.text, /From: Gatehouse <noreply@gatehouse\.test>/);
    // The body is quoted-printable: soft line breaks removed, then the plain `token:` line.
    const token = /token: (gh[a-z]_[A-Za-z0-9_-]{40,})/.exec(mail.text.replace(/=\r?\n/g, ''))?.[1];
    assert.ok(token, `no token in:\n${mail.text}`);
    const confirmed = await t.call('POST', '/api/auth/password-reset/confirm', {
      body: { token, newPassword: 'a fresh and long passphrase 42' },
    });
    assert.equal(confirmed.statusCode, 204);
    assert.ok(!t.log.text().includes(token), 'the token is not written to the log when SMTP carries it');
    const sent = await t.auth.services.db.query<{ n: number }>(
      'select count(*)::int as n from outbox where sent_at is not null',
    );
    assert.ok((sent.rows[0]?.n ?? 0) >= 1);
  });

  test('keeps mail while the SMTP server is down and sends it when it is back', async () => {
    const probe = await smtpServer();
    const port = probe.port;
    await probe.close();
    const t = await startAuth({ SMTP_URL: `smtp://127.0.0.1:${port}`, MAIL_FROM: 'noreply@gatehouse.test' });
    after(() => t.close());
    const user = await t.registerUser('later');
    await t.call('POST', '/api/auth/password-reset/request', { body: { email: user.email } });
    await until(
      () => (/mail relay: sending failed/.test(t.log.text()) ? true : undefined),
      5_000,
      'a failed attempt',
    );
    const pending = await t.auth.services.db.query<{ n: number; attempts: number }>(
      'select count(*)::int as n, max(attempts)::int as attempts from outbox where sent_at is null',
    );
    assert.ok((pending.rows[0]?.n ?? 0) >= 1, 'the mail is still in the outbox');
    assert.ok((pending.rows[0]?.attempts ?? 0) >= 1, 'the failure is counted');
    const smtp = await smtpServer(port);
    after(() => smtp.close());
    await until(
      () => smtp.received.find((m) => m.to === user.email),
      10_000,
      'the mail after SMTP came back',
    );
  });
});
