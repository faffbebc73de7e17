export { type AccessCheckDeps, accessDenied, createAccessCheck } from './access-check.ts';
export {
  ACCESS_INVALIDATION_CHANNEL,
  type AccessCheckHooks,
  AccessChecks,
  type AccessChecksOptions,
  type AccessDecision,
  type AccessStats,
  type AccessStatus,
  type DecisionSource,
  type InvalidationSource,
  parseInvalidation,
} from './access-checks.ts';
export { ACCESS_REASONS, type AccessReason, MAX_ANSWER_BYTES, parseAnswer } from './checker-client.ts';
export { type AccessQuery, DecisionCache, decisionKey, type InvalidationFilter } from './decision-cache.ts';
export { type AccessRule, AccessRuleTable, actionFor, compileAccessRule } from './rules.ts';
export {
  type AccessCheckConfig,
  type AccessSettings,
  type AccessSettingsInput,
  accessCheckSchema,
  accessChecksSchema,
  accessCrossReferenceIssues,
  accessSettingsSchema,
  type CheckerConfig,
} from './schema.ts';
