/**
 * Schema helpers shared by every input schema. A string enum is written as JSON Schema's `enum`
 * (as fastify recommends for TypeBox) so ajv reports one error listing the choices.
 */
import { Type, type SchemaOptions, type TUnsafe } from '@sinclair/typebox';

export function stringEnum<const T extends readonly string[]>(
  values: T,
  options: SchemaOptions = {},
): TUnsafe<T[number]> {
  return Type.Unsafe<T[number]>({ ...options, type: 'string', enum: [...values] });
}
