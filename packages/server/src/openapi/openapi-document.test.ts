import { describe, expect, it } from 'vitest';
import { apiRoutes } from '../routes/api-routes.js';
import { RouteRegistry } from '../routes/route-registry.js';
import { openApiDocument } from './openapi-document.js';

function document() {
  const registry = new RouteRegistry();
  for (const route of apiRoutes({ metricsPublic: false })) registry.register(route);
  // As a client sees it: parsed from JSON.
  return {
    registry,
    doc: JSON.parse(JSON.stringify(openApiDocument(registry, { version: '1.2.3' }))),
  };
}

describe('openApiDocument', () => {
  it('is OpenAPI 3.1 with a bearer security scheme required by default', () => {
    const { doc } = document();
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info).toMatchObject({ title: 'Paved API', version: '1.2.3' });
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(doc.security).toEqual([{ bearer: [] }]);
  });

  it('describes every registered route, marking public ones and naming permissions', () => {
    const { registry, doc } = document();
    for (const route of registry.routes) {
      const operation = doc.paths[route.path]?.[route.method.toLowerCase()];
      expect(operation, `${route.method} ${route.path}`).toBeDefined();
      expect(operation.summary).toBe(route.summary);
      expect(operation['x-paved-permission']).toBe(route.permission);
      if (route.permission === 'public') expect(operation.security).toEqual([]);
      else {
        expect(operation.security).toBeUndefined();
        expect(operation.responses['401']).toEqual({ $ref: '#/components/responses/Error' });
      }
      expect(operation.responses.default).toEqual({ $ref: '#/components/responses/Error' });
    }
    const ids = registry.routes.map(
      (route): unknown => doc.paths[route.path][route.method.toLowerCase()].operationId,
    );
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('documents parameters, bodies and answers from the validating schemas', () => {
    const { doc } = document();
    const create = doc.paths['/api/v1/apps/{app}/envs'].post;
    expect(create.operationId).toBe('postAppsByAppEnvs');
    expect(create.parameters).toEqual([
      expect.objectContaining({
        name: 'app',
        in: 'path',
        required: true,
        schema: expect.objectContaining({ type: 'string' }),
      }),
    ]);
    expect(create.requestBody.required).toBe(true);
    expect(create.requestBody.content['application/json'].schema).toMatchObject({
      type: 'object',
      required: ['name', 'type'],
      additionalProperties: false,
    });
    expect(create.responses['201'].content['application/json'].schema.properties.expiresAt).toBeDefined();

    const list = doc.paths['/api/v1/apps'].get;
    expect(
      list.parameters.map((parameter: Record<string, unknown>) => [
        parameter.name,
        parameter.in,
        parameter.required,
      ]),
    ).toEqual([
      ['after', 'query', false],
      ['limit', 'query', false],
    ]);
    expect(doc.paths['/api/v1/apps/{app}'].delete.responses['204']).toEqual({
      description: 'Done; no content.',
    });
    expect(doc.paths['/metrics'].get.responses['200'].content).toHaveProperty(['text/plain; version=0.0.4']);
    expect(doc.components.schemas.Error.properties.error.required).toEqual(['code', 'message']);
    expect(JSON.stringify(doc)).not.toContain('$schema');
  });
});
