import { defineErrors, standardErrors } from '@gatehouse/kit/service';

/**
 * Every code the web app's server answers with (the shared plumbing's: it has
 * no routes of its own beyond serving files). `docs/errors.md` lists them.
 */
export const webErrors = defineErrors({
  ...standardErrors('WEB'),
});

export type WebErrorCode = keyof typeof webErrors.table;
export const webError = webErrors.create;
