/**
 * The pieces of an OpenAPI operation a route writes by hand (its path parameters, body and
 * responses), and the helpers that build them. The document itself is assembled in openapi.ts.
 */
import type { TObject } from '@sinclair/typebox';

export type Schema = Readonly<Record<string, unknown>>;

export interface ParameterDoc {
  readonly name: string;
  readonly in: 'query' | 'path';
  readonly required?: boolean;
  readonly description: string;
  readonly schema: Schema;
}

/** Written by hand only for path parameters; query parameters come from the route's `query` schema. */
export interface PathParameterDoc extends ParameterDoc {
  readonly in: 'path';
}

export interface ResponseDoc {
  readonly description: string;
  readonly headers?: Readonly<Record<string, { readonly description: string; readonly schema: Schema }>>;
  readonly content?: Readonly<Record<string, { readonly schema: Schema }>>;
}

export interface OperationDoc {
  readonly operationId: string;
  readonly summary: string;
  readonly description?: string;
  readonly tags: readonly string[];
  readonly parameters?: readonly PathParameterDoc[];
  readonly requestBody?: {
    readonly required: boolean;
    readonly content: { readonly 'application/json': { readonly schema: Schema } };
  };
  readonly responses: Readonly<Record<string, ResponseDoc | { readonly $ref: string }>>;
}

export interface DocumentedRoute {
  readonly method: string;
  readonly path: string;
  readonly auth: 'none' | 'token' | 'metrics';
  readonly doc: OperationDoc;
  /** The query parameters (query.ts); none are accepted without it. */
  readonly query?: TObject;
}

export function ref(name: string): Schema {
  return { $ref: `#/components/schemas/${name}` };
}

export function pathParam(name: string, description: string, schema: Schema = { type: 'string' }): PathParameterDoc {
  return { name, in: 'path', required: true, description, schema };
}

export function jsonResponse(description: string, schema: Schema): ResponseDoc {
  return { description, content: { 'application/json': { schema } } };
}

export function jsonBody(schema: Schema): NonNullable<OperationDoc['requestBody']> {
  return { required: true, content: { 'application/json': { schema } } };
}
