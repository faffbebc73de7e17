/**
 * Every problem code the APIs answer with, as a sentence a person can act on:
 * what happened and what to do next. `tests/web/messages.test.ts` checks that
 * every code of the gateway's and the services' tables is here. Codes that a
 * person can only meet through a bug of the app (a malformed request) still
 * get a sentence: they say to reload and, if it persists, to report the id.
 */

export interface MessageContext {
  readonly status?: number;
  readonly retryAfterSeconds?: number | undefined;
  readonly detail?: string | undefined;
}

type Message = string | ((ctx: MessageContext) => string);

function whenToRetry(ctx: MessageContext): string {
  const s = ctx.retryAfterSeconds;
  if (s === undefined) return 'Wait a moment, then try again.';
  if (s < 60) return `Try again in ${Math.ceil(s)} second${s > 1 ? 's' : ''}.`;
  const min = Math.ceil(s / 60);
  return `Try again in ${min} minute${min > 1 ? 's' : ''}.`;
}

const APP_BUG =
  'Something in this page went wrong. Reload the page; if it happens again, tell us the request id.';
const SERVER_BUG =
  'Something went wrong on our side. Try again; if it keeps happening, tell us the request id.';
const UNAVAILABLE = (ctx: MessageContext) => `The service is busy or restarting. ${whenToRetry(ctx)}`;

export const MESSAGES: Readonly<Record<string, Message>> = {
  // Not an HTTP answer at all.
  NETWORK: 'You appear to be offline, or the server cannot be reached. Check your connection and try again.',

  // The gateway.
  GW_BAD_REQUEST: APP_BUG,
  GW_BAD_PATH: 'This address is not valid. Check the link, or go back to the start page.',
  GW_UNAUTHENTICATED: 'Please sign in to continue.',
  GW_INVALID_TOKEN: 'Your session has ended. Sign in again to continue.',
  GW_FORBIDDEN: 'Your role in this team does not allow this. Ask an owner or admin.',
  GW_ACCESS_DENIED: 'You do not have access to this. Ask an owner or admin of the team for access.',
  GW_CORS_REJECTED:
    'This page is not allowed to call the API from its address. Open the app from its own address.',
  GW_ROUTE_NOT_FOUND: 'This page or resource does not exist. Check the address.',
  GW_METHOD_NOT_ALLOWED: APP_BUG,
  GW_REQUEST_TIMEOUT: 'The request took too long to arrive. Check your connection and try again.',
  GW_PAYLOAD_TOO_LARGE: 'What you sent is too large. Make it shorter and try again.',
  GW_URI_TOO_LONG: 'This address is too long. Shorten your search or filter and try again.',
  GW_RATE_LIMITED: (ctx) => `You are doing that too often. ${whenToRetry(ctx)}`,
  GW_HEADERS_TOO_LARGE:
    'Your browser sent too much data (often too many cookies). Clear this site’s cookies and try again.',
  GW_INTERNAL: SERVER_BUG,
  GW_UPSTREAM_UNAVAILABLE: (ctx) => `The service cannot be reached right now. ${whenToRetry(ctx)}`,
  GW_AUTH_UNAVAILABLE: (ctx) =>
    `Sign-in cannot be checked right now. You are still signed in. ${whenToRetry(ctx)}`,
  GW_IDENTITY_UNAVAILABLE: (ctx) => `Your account cannot be checked right now. ${whenToRetry(ctx)}`,
  GW_SHUTTING_DOWN: UNAVAILABLE,
  GW_UPSTREAM_CIRCUIT_OPEN: UNAVAILABLE,
  GW_UPSTREAM_BUSY: UNAVAILABLE,
  GW_UPGRADE_REFUSED:
    'The live connection was refused. Reload the page; messages still arrive when you reload.',
  GW_INVALID_TICKET:
    'The live connection could not be opened with an old ticket. It reconnects by itself; reload if it does not.',
  GW_TOO_MANY_CONNECTIONS: (ctx) =>
    `You have too many open tabs or devices connected live. Close some tabs; ${whenToRetry(ctx).toLowerCase()}`,
  GW_UPSTREAM_TIMEOUT:
    'The service took too long to answer. Try again; your change may or may not have been saved, so check first.',

  // The identity service.
  AUTH_VALIDATION: 'Some fields are not filled in correctly. Check them and try again.',
  AUTH_MALFORMED_REQUEST: APP_BUG,
  AUTH_UNAUTHENTICATED: 'Your session has ended. Sign in again to continue.',
  AUTH_FORBIDDEN: 'You are not allowed to do this.',
  AUTH_NOT_FOUND: 'This page or resource does not exist.',
  AUTH_BODY_TOO_LARGE: 'What you sent is too large. Make it shorter and try again.',
  AUTH_UNSUPPORTED_MEDIA_TYPE: APP_BUG,
  AUTH_INTERNAL: SERVER_BUG,
  AUTH_INVALID_CREDENTIALS: 'The email or password is not correct. Check both, or reset your password.',
  AUTH_TOO_MANY_ATTEMPTS: (ctx) => `Too many failed sign-ins from this network. ${whenToRetry(ctx)}`,
  AUTH_EMAIL_TAKEN: 'An account with this email already exists. Sign in instead, or reset its password.',
  AUTH_WEAK_PASSWORD: (ctx) =>
    `Choose another password${ctx.detail ? ` (${ctx.detail})` : ''}. A long phrase of several words works well.`,
  AUTH_INVALID_REFRESH_TOKEN: 'Your session has ended. Sign in again to continue.',
  AUTH_REFRESH_REUSED: 'For your safety, every session of this account was ended. Sign in again.',
  AUTH_CSRF: 'This request did not come from the app’s own page. Reload the page and try again.',
  AUTH_INVALID_TOKEN:
    'This link is not valid any more: it was used, replaced by a newer one, or expired. Ask for a new one.',
  AUTH_USER_NOT_FOUND: 'This account does not exist any more.',
  AUTH_TENANT_NOT_FOUND: 'This team does not exist, or you are not a member of it.',
  AUTH_MEMBER_NOT_FOUND: 'This person is not a member of the team (any more). Reload the list.',
  AUTH_INVITATION_NOT_FOUND: 'This invitation does not exist any more. Reload the list.',
  AUTH_INVITATION_EMAIL_MISMATCH:
    'This invitation was sent to another email address. Sign in with that address to accept it.',
  AUTH_ALREADY_MEMBER: 'You are already a member of this team. Switch to it from the team list.',
  AUTH_LAST_OWNER: 'A team needs at least one owner. Make someone else an owner first.',
  AUTH_ROLE_FORBIDDEN: 'Your role in this team does not allow this. Ask an owner.',
  AUTH_TENANT_MISMATCH: 'You are acting for another team in another tab. Reload the page.',
  AUTH_WRONG_PASSWORD: 'Your current password is not correct.',

  AUTH_METHOD_NOT_ALLOWED: APP_BUG,
  AUTH_SEATS_EXCEEDED:
    'The team has no free seat on its plan. An owner or admin can upgrade the plan on the Billing page, or remove a member.',

  // The chat service.
  CHAT_VALIDATION: 'Some fields are not filled in correctly. Check them and try again.',
  CHAT_MALFORMED_REQUEST: APP_BUG,
  CHAT_UNAUTHENTICATED: 'Your session has ended. Sign in again to continue.',
  CHAT_FORBIDDEN: 'You are not allowed to do this.',
  CHAT_NOT_FOUND: 'This does not exist (any more). Reload the page.',
  CHAT_METHOD_NOT_ALLOWED: APP_BUG,
  CHAT_BODY_TOO_LARGE: 'This message is too long. Shorten it or split it into several messages.',
  CHAT_UNSUPPORTED_MEDIA_TYPE: APP_BUG,
  CHAT_INTERNAL: SERVER_BUG,
  CHAT_CONVERSATION_NOT_FOUND:
    'This conversation does not exist, or you are not in it. Pick one from the list.',
  CHAT_MESSAGE_NOT_FOUND: 'This message does not exist any more. It may have been deleted.',
  CHAT_MEMBER_NOT_FOUND: 'This person is not in the conversation (any more).',
  CHAT_NOT_A_MEMBER: 'Join the conversation first to do this.',
  CHAT_ROLE_FORBIDDEN: 'Your role in this conversation does not allow this. Ask one of its owners.',
  CHAT_NOT_AUTHOR: 'Only the author can change this message.',
  CHAT_ARCHIVED: 'This conversation is archived and read-only. Ask an owner to unarchive it.',
  CHAT_NAME_TAKEN: 'A channel with this name exists already. Choose another name, or join that channel.',
  CHAT_LAST_OWNER: 'A channel needs at least one owner. Make someone else an owner first.',
  CHAT_DIRECT_FIXED: 'The people in a direct conversation cannot change. Start a new conversation instead.',
  CHAT_MESSAGE_DELETED: 'This message was deleted, so it cannot be changed.',
  CHAT_MESSAGE_TOO_LARGE: 'This message is too long. Shorten it or split it into several messages.',
  CHAT_INVALID_CURSOR: 'The history could not be loaded from here. Reload the conversation.',
  CHAT_INVALID_EMOJI: 'That is not an emoji. Pick one from the list.',
  CHAT_IDEMPOTENCY_MISMATCH: APP_BUG,
  CHAT_RATE_LIMITED: (ctx) => `You are sending messages too fast. ${whenToRetry(ctx)}`,
  CHAT_QUOTA_EXCEEDED:
    'Your team has used all messages of its plan for this period. An owner or admin can upgrade the plan on the Billing page.',

  // The billing service.
  BILL_VALIDATION: 'Some fields are not filled in correctly. Check them and try again.',
  BILL_MALFORMED_REQUEST: APP_BUG,
  BILL_UNAUTHENTICATED: 'Your session has ended. Sign in again to continue.',
  BILL_FORBIDDEN: 'You are not allowed to do this.',
  BILL_NOT_FOUND: 'This does not exist (any more). Reload the page.',
  BILL_METHOD_NOT_ALLOWED: APP_BUG,
  BILL_BODY_TOO_LARGE: APP_BUG,
  BILL_UNSUPPORTED_MEDIA_TYPE: APP_BUG,
  BILL_INTERNAL: SERVER_BUG,
  BILL_PLAN_NOT_FOUND: 'This plan is not offered any more. Reload the page and pick another.',
  BILL_FREE_PLAN:
    'The free plan needs no subscription. Cancel the current one to return to it at the end of the period.',
  BILL_ALREADY_SUBSCRIBED: 'Your team already has a subscription. Change its plan instead.',
  BILL_NO_SUBSCRIPTION: 'Your team has no subscription. Choose a plan first.',
  BILL_PLAN_UNCHANGED: 'Your team is already on this plan (or the change is already scheduled).',
  BILL_SUBSCRIPTION_NOT_ACTIVE: 'The subscription has an unpaid invoice. Pay it first, then change the plan.',
  BILL_SUBSCRIPTION_ENDED: 'The subscription has ended. Choose a plan to subscribe again.',
  BILL_TRIAL_UNAVAILABLE:
    'This plan has no trial, or your team has had its trial. Subscribe without a trial.',
  BILL_PAYMENT_DECLINED:
    'The payment was declined, so nothing changed. Check the payment method and try again.',
  BILL_PROVIDER_UNAVAILABLE: (ctx) =>
    `The payment provider is not answering; nothing changed. ${whenToRetry(ctx)}`,
  BILL_WEBHOOK_REFUSED: APP_BUG,
  BILL_IDEMPOTENCY_KEY_INVALID: APP_BUG,
  BILL_IDEMPOTENCY_KEY_REUSED: APP_BUG,
  BILL_IDEMPOTENCY_IN_PROGRESS: 'Your previous request is still being processed. Wait a moment, then reload.',
  BILL_ROLE_FORBIDDEN: 'Only an owner or admin of the team can change billing. Ask one of them.',
  BILL_QUOTA_EXCEEDED:
    'Your team has used up what its plan includes for this period. An owner or admin can upgrade the plan.',

  // The web app's own server.
  WEB_VALIDATION: APP_BUG,
  WEB_MALFORMED_REQUEST: APP_BUG,
  WEB_UNAUTHENTICATED: 'Please sign in to continue.',
  WEB_FORBIDDEN: 'You are not allowed to open this.',
  WEB_METHOD_NOT_ALLOWED: APP_BUG,
  WEB_NOT_FOUND: 'This file does not exist. Reload the page: the app may have been updated.',
  WEB_BODY_TOO_LARGE: APP_BUG,
  WEB_UNSUPPORTED_MEDIA_TYPE: APP_BUG,
  WEB_INTERNAL: SERVER_BUG,
};

/** By status, for a code this version of the app does not know yet. */
function byStatus(ctx: MessageContext): string {
  const s = ctx.status ?? 0;
  if (s === 401) return 'Your session has ended. Sign in again to continue.';
  if (s === 403) return 'You are not allowed to do this.';
  if (s === 404) return 'This does not exist (any more).';
  if (s === 409) return 'This conflicts with a change made meanwhile. Reload and try again.';
  if (s === 429) return `You are doing that too often. ${whenToRetry(ctx)}`;
  if (s >= 500) return SERVER_BUG;
  return APP_BUG;
}

export function messageFor(code: string, ctx: MessageContext = {}): string {
  const message = MESSAGES[code];
  if (message === undefined) return byStatus(ctx);
  return typeof message === 'string' ? message : message(ctx);
}
