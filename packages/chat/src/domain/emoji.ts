/**
 * A reaction is one emoji (a Unicode RGI emoji sequence, e.g. 👍 or 👩🏽‍💻) or a
 * short code name (`thumbsup`, `party_parrot`): nothing else, so a reaction is
 * never a vehicle for text.
 */
const RGI_EMOJI = /^\p{RGI_Emoji}$/v;
const SHORT_CODE = /^[a-z0-9][a-z0-9_+-]{0,31}$/;

export function isEmoji(value: string): boolean {
  return value.length <= 64 && (RGI_EMOJI.test(value) || SHORT_CODE.test(value));
}
