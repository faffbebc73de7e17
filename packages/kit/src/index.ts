export * from './assertion.ts';
export * from './config.ts';
export * from './errors.ts';
export * from './health.ts';
export * from './logger.ts';
export * from './metrics.ts';
export * from './secrets.ts';
export * from './shutdown.ts';
