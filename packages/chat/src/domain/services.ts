import type { ChatEvent } from '@gatehouse/kit';
import type { Database, Logger } from '@gatehouse/kit/service';
import type { ChatConfig } from '../config.ts';
import type { EventBus } from '../realtime/bus.ts';
import type { UsageMeter } from '../usage/reporter.ts';
import type { SendLimits } from './limits.ts';

/** What the domain functions need; built once in app.ts. */
export interface ChatServices {
  readonly config: ChatConfig;
  readonly db: Database;
  readonly logger: Logger;
  readonly bus: EventBus;
  readonly limits: SendLimits;
  /** Counts stored messages per tenant for billing (a no-op with reporting off). */
  readonly usage: UsageMeter;
}

/** The caller, from the verified gateway assertion only. */
export interface Caller {
  readonly userId: string;
  readonly tenantId: string;
}

/** Stored first, then published: a publish that fails loses nothing (clients catch up with `since`). */
export function publish(s: ChatServices, tenantId: string, ...events: ChatEvent[]): void {
  for (const event of events) s.bus.publish({ tenantId, event });
}
