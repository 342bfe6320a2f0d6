import type { FastifyInstance, FastifyTypeProvider } from 'fastify';
import type { z } from 'zod';
import { CtlError } from '../common/errors.js';
import { schemaError } from '../common/schema-error.js';

/**
 * Route schemas are the zod schemas of common/api.ts. Typing a route through this provider
 * (`app.withTypeProvider<ZodTypeProvider>()`) makes `req.body`/`req.params` the schema's output
 * and checks the handler's return value against `schema.response`.
 */
export interface ZodTypeProvider extends FastifyTypeProvider {
  validator: this['schema'] extends z.ZodType ? z.output<this['schema']> : unknown;
  serializer: this['schema'] extends z.ZodType ? z.input<this['schema']> : unknown;
}

const PART: Record<string, string> = { body: 'body', querystring: 'query', params: 'params', headers: 'headers' };

function isZod(s: unknown): s is z.ZodType {
  return typeof s === 'object' && s !== null && typeof (s as { safeParse?: unknown }).safeParse === 'function';
}

/**
 * Requests are validated by zod's safeParse: a mismatch is a CTL_ERR_USAGE (400) naming the
 * field (`body.check: expected boolean, received string`), and the handler gets the parsed
 * value. Responses are plain JSON.stringify; `ctl` checks them when it parses them.
 */
export function useZodSchemas(app: FastifyInstance): void {
  app.setValidatorCompiler(({ schema, method, url, httpPart }) => {
    if (!isZod(schema)) throw new CtlError('CTL_ERR_INTERNAL', `${method} ${url}: the ${httpPart} schema must be a zod schema from common/api.ts`);
    const root = PART[httpPart ?? 'body'] ?? String(httpPart);
    return (data: unknown) => {
      const r = schema.safeParse(data);
      return r.success ? { value: r.data } : { error: schemaError('CTL_ERR_USAGE', root, r.error.issues) };
    };
  });
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
}
