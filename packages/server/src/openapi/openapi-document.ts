import { ERROR_CODES } from '@paved/core';
import { z } from 'zod';
import { pathParameters, type AnyRoute } from '../routes/route.js';
import type { RouteRegistry } from '../routes/route-registry.js';

type JsonObject = Record<string, unknown>;

/** The wire shape of every error answer. */
export const errorResponseSchema = z
  .object({
    error: z.object({
      code: z.enum(Object.keys(ERROR_CODES) as [keyof typeof ERROR_CODES, ...(keyof typeof ERROR_CODES)[]]),
      message: z.string(),
      details: z
        .object({
          problems: z
            .array(
              z.object({
                file: z.string().optional(),
                line: z.number().int().optional(),
                column: z.number().int().optional(),
                path: z.string(),
                message: z.string(),
              }),
            )
            .optional(),
        })
        .catchall(z.unknown())
        .optional(),
    }),
  })
  .meta({ description: 'An error; the status is that of `code` in the error table.' });

export interface OpenApiInfo {
  title?: string;
  version: string;
}

/**
 * The OpenAPI 3.1 document of every registered route, generated from the same zod schemas that
 * validate requests (zod emits JSON Schema draft 2020-12, the dialect OpenAPI 3.1 uses). Request
 * schemas are described as accepted (`io: 'input'`), answers as produced (`io: 'output'`).
 */
export function openApiDocument(registry: RouteRegistry, info: OpenApiInfo): JsonObject {
  const paths: Record<string, Record<string, JsonObject>> = {};
  for (const route of registry.routes) {
    (paths[route.path] ??= {})[route.method.toLowerCase()] = operation(route);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: info.title ?? 'Paved API',
      version: info.version,
      description: 'The HTTP API of Paved, an Internal Developer Platform. See docs/api.md.',
    },
    security: [{ bearer: [] }],
    paths,
    components: {
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description:
            'A Paved token (`paved_…`); the first start writes one to <data-dir>/credentials.json.',
        },
      },
      schemas: { Error: jsonSchema(errorResponseSchema, 'output') },
      responses: {
        Error: {
          description: 'An error in the shape `{"error": {"code", "message", "details"}}`.',
          content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
        },
      },
    },
  };
}

function operation(route: AnyRoute): JsonObject {
  const isPublic = route.permission === 'public';
  const parameters = [...parametersOf(route.params, 'path'), ...parametersOf(route.query, 'query')];
  const status = route.status ?? 200;
  const success: JsonObject =
    status === 204
      ? { description: 'Done; no content.' }
      : {
          description: 'Success.',
          content: {
            [route.produces ?? 'application/json']: { schema: jsonSchema(route.response, 'output') },
          },
        };
  const errors: Record<string, JsonObject> = {};
  const error = { $ref: '#/components/responses/Error' };
  if (parameters.length > 0 || route.body !== undefined) errors['400'] = error;
  if (!isPublic) Object.assign(errors, { '401': error, '403': error });
  if (route.body !== undefined) errors['413'] = error;
  return {
    operationId: operationId(route),
    summary: route.summary,
    ...(route.description === undefined ? {} : { description: route.description }),
    tags: [tagOf(route.path)],
    ...(isPublic ? { security: [] } : {}),
    'x-paved-permission': route.permission,
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(route.body === undefined
      ? {}
      : {
          requestBody: {
            required: !route.body.safeParse(undefined).success,
            content: { 'application/json': { schema: jsonSchema(route.body, 'input') } },
          },
        }),
    responses: { [String(status)]: success, ...errors, default: error },
  };
}

function parametersOf(schema: z.ZodType | undefined, location: 'path' | 'query'): JsonObject[] {
  if (schema === undefined) return [];
  const object = jsonSchema(schema, 'input');
  const properties = (object.properties ?? {}) as Record<string, JsonObject>;
  const required = new Set((object.required ?? []) as string[]);
  return Object.entries(properties).map(([name, property]) => {
    const { description, ...rest } = property;
    return {
      name,
      in: location,
      required: location === 'path' || required.has(name),
      ...(description === undefined ? {} : { description }),
      schema: rest,
    };
  });
}

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonObject {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, {
    target: 'draft-2020-12',
    io,
    unrepresentable: 'any',
  }) as JsonObject;
  return rest;
}

/** `GET /api/v1/apps/{app}/envs` → `getAppsByAppEnvs`. */
function operationId(route: AnyRoute): string {
  const params = new Set(pathParameters(route.path));
  const words = route.path
    .split('/')
    .filter((segment) => segment !== '' && segment !== 'api' && segment !== 'v1')
    .map((segment) => {
      const name = /^\{(.+)\}$/.exec(segment)?.[1];
      return name !== undefined && params.has(name) ? `by-${name}` : segment;
    })
    .flatMap((segment) => segment.split(/[^A-Za-z0-9]+/))
    .filter((word) => word !== '');
  return [route.method.toLowerCase(), ...words.map((word) => word[0]!.toUpperCase() + word.slice(1))].join(
    '',
  );
}

/** Groups operations by what they are about: apps, envs, values, env-types, or the server itself. */
function tagOf(path: string): string {
  const segments = path
    .split('/')
    .filter((segment) => segment !== '' && segment !== 'api' && segment !== 'v1');
  if (segments[0] === 'env-types') return 'env-types';
  if (segments[0] !== 'apps') return 'system';
  if (segments.includes('values')) return 'values';
  return segments.includes('envs') ? 'envs' : 'apps';
}
