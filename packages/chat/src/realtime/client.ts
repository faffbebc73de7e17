import type { ChatControlEvent, ChatEvent } from '@gatehouse/kit';
import type { WebSocket } from 'ws';

/** One connected socket and what it may receive. */
export interface Client {
  readonly ws: WebSocket;
  readonly tenantId: string;
  readonly userId: string;
  readonly jti: string | undefined;
  /** When the connection's assertion was signed (s): revocations after it close the socket. */
  readonly connectedAt: number;
  /** The conversations whose events this socket receives: its user's memberships, kept current. */
  readonly conversations: Set<string>;
  alive: boolean;
  badFrames: number;
  readonly lastTyping: Map<string, number>;
  expiryTimer?: NodeJS.Timeout;
}

export type Outgoing = ChatEvent | ChatControlEvent;
