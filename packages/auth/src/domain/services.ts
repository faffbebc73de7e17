import type { Database, Logger, Queryable } from '@gatehouse/kit/service';
import type { AuthConfig } from '../config.ts';
import { type AuditEntry, insertAudit } from '../db/audit.ts';
import { insertOutbox } from '../db/outbox.ts';
import type { KeyRing } from './keys.ts';
import type { PasswordHasher } from './passwords.ts';
import type { RevocationFeed } from './revocation-feed.ts';
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
 * Mail without SMTP: the development outbox, a table and a log line. Outside
 * production the log line carries the body (with its link) so a developer
 * can follow it; in production only the recipient and subject are logged.
 */
export async function sendMail(
  s: AuthServices,
  q: Queryable,
  mail: { to: string; subject: string; body: string },
): Promise<void> {
  const id = await insertOutbox(q, mail);
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
