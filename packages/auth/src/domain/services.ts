import type { Database, Logger, Queryable } from '@gatehouse/kit/service';
import type { AuthConfig } from '../config.ts';
import { type AuditEntry, insertAudit } from '../db/audit.ts';
import { insertOutbox } from '../db/outbox.ts';
import type { KeyRing } from './keys.ts';
import type { MailRelay } from './mail-relay.ts';
import type { PasswordHasher } from './passwords.ts';
import type { RevocationFeed } from './revocation-feed.ts';
import type { EntitlementSource } from './seats.ts';
import type { AccessTokenIssuer } from './tokens.ts';

/** What every domain operation works with; built once by app.ts. */
export interface AuthServices {
  readonly config: AuthConfig;
  readonly db: Database;
  readonly logger: Logger;
  readonly hasher: PasswordHasher;
  readonly keys: KeyRing;
  readonly tokens: AccessTokenIssuer;
  readonly feed: RevocationFeed;
  /** Present when SMTP is configured: relays the outbox after commit. */
  readonly mail: MailRelay | undefined;
  /** Billing's entitlement records (seats): Redis when configured, else none (the free plan). */
  readonly entitlements: EntitlementSource;
}

/** Who asks, for the audit log and throttling. */
export interface RequestMeta {
  readonly ip: string;
  readonly requestId: string;
}

/** Security events go to the audit table and to the log. */
export async function audit(s: AuthServices, q: Queryable, entry: AuditEntry): Promise<void> {
  await insertAudit(q, entry);
  s.logger.info({ audit: entry.event, ...entry, event: undefined }, `audit: ${entry.event}`);
}

/**
 * Mail goes to the outbox in the caller's transaction. With SMTP configured
 * the relay sends it once that transaction has committed (it is nudged on the
 * next tick, and polls for retries). Without SMTP the outbox is the
 * development outbox: a table and a log line that, outside production, carries
 * the body (with its link) so a developer can follow it.
 */
export async function sendMail(
  s: AuthServices,
  q: Queryable,
  mail: { to: string; subject: string; body: string },
): Promise<void> {
  const id = await insertOutbox(q, mail);
  if (s.mail !== undefined) {
    // After the caller's transaction commits (the nudge runs on a later tick and reads committed rows).
    setImmediate(() => s.mail?.nudge());
    return;
  }
  s.logger.info(
    {
      outboxId: id,
      to: mail.to,
      subject: mail.subject,
      mailBody: s.config.production ? undefined : mail.body,
    },
    'dev outbox: mail queued (SMTP not configured)',
  );
}
