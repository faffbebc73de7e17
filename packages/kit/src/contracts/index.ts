/**
 * Wire contracts that cross services: each is defined once here and imported
 * by the side that writes it and the side that reads it.
 */
export * from './chat-events.ts';
export * from './entitlement.ts';
export * from './internal-user.ts';
export * from './revocation.ts';
export * from './usage.ts';
