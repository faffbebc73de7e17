import { defineErrors, standardErrors } from '@gatehouse/kit/service';

/** Every code the chat service answers with. `docs/errors.md` lists them (a test checks it). */
export const chatErrors = defineErrors({
  ...standardErrors('CHAT'),
  CHAT_CONVERSATION_NOT_FOUND: { status: 404, title: 'No such conversation, or you cannot see it' },
  CHAT_MESSAGE_NOT_FOUND: { status: 404, title: 'No such message in this conversation' },
  CHAT_MEMBER_NOT_FOUND: { status: 404, title: 'No such member in this conversation' },
  CHAT_NOT_A_MEMBER: { status: 403, title: 'Only members may do this' },
  CHAT_ROLE_FORBIDDEN: { status: 403, title: 'Your role in this conversation does not allow this' },
  CHAT_NOT_AUTHOR: { status: 403, title: 'Only the author may change this message' },
  CHAT_ARCHIVED: { status: 409, title: 'The conversation is archived' },
  CHAT_NAME_TAKEN: { status: 409, title: 'A channel with this name already exists' },
  CHAT_LAST_OWNER: { status: 409, title: 'A channel must keep at least one owner' },
  CHAT_DIRECT_FIXED: { status: 409, title: 'The members of a direct conversation are fixed' },
  CHAT_MESSAGE_DELETED: { status: 409, title: 'The message was deleted' },
  CHAT_MESSAGE_TOO_LARGE: { status: 400, title: 'The message body is over the size limit' },
  CHAT_INVALID_CURSOR: { status: 400, title: 'The cursor does not name a message of this conversation' },
  CHAT_INVALID_EMOJI: { status: 400, title: 'Not an emoji' },
  CHAT_IDEMPOTENCY_MISMATCH: {
    status: 409,
    title: 'The Idempotency-Key was used for a different request',
  },
  CHAT_RATE_LIMITED: { status: 429, title: 'Too many messages; slow down' },
  CHAT_QUOTA_EXCEEDED: { status: 429, title: "The tenant's message quota for this period is used up" },
});

export type ChatErrorCode = keyof typeof chatErrors.table;
export const chatError = chatErrors.create;
