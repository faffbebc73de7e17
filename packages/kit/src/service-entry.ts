/**
 * `@gatehouse/kit/service`: everything a service built on Fastify and a
 * database needs, on top of the core. The gateway imports only the core
 * (`@gatehouse/kit`) and so never loads Fastify, pg or PGlite.
 */
export * from './db/index.ts';
export * from './index.ts';
export * from './service/index.ts';
export * from './tracing.ts';
