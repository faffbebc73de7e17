import { unstorableFields } from '@gatehouse/kit/service';
import type { ValidateFunction } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsImport from 'ajv-formats';
import type { Operation, Parameter } from './operations.ts';
import type { Case } from './requests.ts';
import { resolve, type Schema } from './schema-arbitrary.ts';

const addFormats = addFormatsImport as unknown as (ajv: Ajv2020) => Ajv2020;

/** What came back for one request. */
export interface Answer {
  readonly status: number;
  readonly contentType: string | undefined;
  readonly allow: string | undefined;
  readonly text: string;
}

/**
 * Codes that mean "your request does not match the contract": a schema-valid
 * request must never get one. Domain refusals (a weak password, an unknown
 * token) are answers about the data, not about its shape.
 */
const REFUSAL =
  /_(VALIDATION|MALFORMED_REQUEST|BAD_PATH|UNSUPPORTED_MEDIA_TYPE|BODY_TOO_LARGE|PAYLOAD_TOO_LARGE)$/;

const DOC_ID = 'openapi';

function rebase(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(rebase);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [
      k,
      k === '$ref' && typeof v === 'string' && v.startsWith('#/') ? `${DOC_ID}${v}` : rebase(v),
    ]),
  );
}

function paramsSchema(params: readonly Parameter[]): Schema {
  return {
    type: 'object',
    required: params.filter((p) => p.required).map((p) => p.name),
    properties: Object.fromEntries(params.map((p) => [p.name, p.schema])),
  };
}

/** Judges requests and answers against one service's public document, with ajv. */
export class Oracle {
  readonly #doc: Schema;
  /** Parameters arrive as text: judged with the coercion the document's style implies. */
  readonly #coercing = new Ajv2020({
    strict: false,
    validateSchema: false,
    coerceTypes: 'array',
    allErrors: true,
  });
  readonly #exact = new Ajv2020({ strict: false, validateSchema: false, allErrors: true });
  readonly #compiled = new Map<Schema, ValidateFunction>();
  readonly #params = new WeakMap<readonly Parameter[], ValidateFunction>();

  constructor(doc: Schema) {
    this.#doc = doc;
    for (const ajv of [this.#coercing, this.#exact]) {
      addFormats(ajv);
      ajv.addSchema(doc, DOC_ID);
    }
  }

  #validator(schema: Schema): ValidateFunction {
    let fn = this.#compiled.get(schema);
    if (fn === undefined) {
      fn = this.#exact.compile(rebase(schema) as Schema);
      this.#compiled.set(schema, fn);
    }
    return fn;
  }

  #paramsValidator(params: readonly Parameter[]): ValidateFunction {
    let fn = this.#params.get(params);
    if (fn === undefined) {
      fn = this.#coercing.compile(rebase(paramsSchema(params)) as Schema);
      this.#params.set(params, fn);
    }
    return fn;
  }

  /** Whether the document says this request is valid (as the client sends it: parameters as text). */
  requestIsValid(op: Operation, c: Case): boolean {
    const asText = (values: Record<string, unknown>) =>
      Object.fromEntries(Object.entries(values).map(([k, v]) => [k, String(v)]));
    if (!this.#paramsValidator(op.pathParams)(asText(c.params))) return false;
    if (!this.#paramsValidator(op.queryParams)(asText(c.query))) return false;
    if (op.body === undefined) return c.body === undefined;
    if (c.body === undefined) return !op.body.required;
    return this.#validator(op.body.schema)(c.body);
  }

  /** The fields holding text a database cannot store, named as the service names them. */
  unstorable(c: Case): string[] {
    return [
      ...unstorableFields('params', c.params),
      ...unstorableFields('querystring', c.query),
      ...unstorableFields('body', c.body),
    ].map((f) => f.field);
  }

  /** Every way the answer breaks the contract (none: it holds). */
  check(op: Operation, c: Case, answer: Answer): string[] {
    const faults: string[] = [];
    const problem = parseJson(answer.text) as { code?: unknown; errors?: { field?: unknown }[] } | undefined;
    const code = typeof problem?.code === 'string' ? problem.code : undefined;
    if (answer.status >= 500) faults.push(`a ${answer.status} (${code ?? 'no code'})`);
    faults.push(...this.checkDeclared(op.responses, answer));

    const unstorable = this.unstorable(c);
    if (unstorable.length > 0) {
      if (answer.status !== 400) {
        faults.push(`text a database cannot store (${unstorable.join(', ')}) was not refused with 400`);
      } else if (code?.endsWith('_VALIDATION') === true) {
        const named = new Set((problem?.errors ?? []).map((e) => e.field));
        const missing = unstorable.filter((f) => !named.has(f));
        if (missing.length > 0) faults.push(`the 400 does not name ${missing.join(', ')}`);
      } else if (code?.startsWith('GW_') !== true) {
        faults.push(`unstorable text refused with ${code ?? 'no code'} instead of *_VALIDATION`);
      }
    } else if (this.requestIsValid(op, c) && code !== undefined && REFUSAL.test(code)) {
      faults.push(`a schema-valid request was refused with ${answer.status} ${code}`);
    }
    return faults;
  }

  /** The status, content type and body are what `responses` declares. */
  checkDeclared(responses: Readonly<Record<string, Schema>>, answer: Answer): string[] {
    const status = String(answer.status);
    const declared = responses[status] ?? responses[`${status[0]}XX`] ?? responses.default;
    if (declared === undefined) return [`status ${status} is not declared`];
    const response = resolve(declared, this.#doc);
    const content = response.content as Record<string, Schema> | undefined;
    const mediaType = answer.contentType?.split(';')[0]?.trim().toLowerCase();
    if (content === undefined || Object.keys(content).length === 0) {
      return answer.text.length > 0 ? [`status ${status} declares no body but one came (${mediaType})`] : [];
    }
    const media = mediaType === undefined ? undefined : content[mediaType];
    if (media === undefined) {
      return [
        `content type ${mediaType} is not declared for ${status} (declared: ${Object.keys(content).join(', ')})`,
      ];
    }
    if (media.schema === undefined) return [];
    const body = parseJson(answer.text);
    if (body === undefined) return [`the ${status} body is not JSON`];
    const validate = this.#validator(media.schema as Schema);
    if (!validate(body))
      return [`the ${status} body violates its schema: ${this.#exact.errorsText(validate.errors)}`];
    return [];
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
