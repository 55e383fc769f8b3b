// The schema option: every table of the store lives in one PostgreSQL schema, named by the app.
// The name goes into SQL text (identifiers cannot be parameters), so it is validated, then quoted.

import { createHash } from 'node:crypto';
import { ValidationError } from '@smsbatch/core';

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** Returns the schema as a quoted identifier, or throws `ValidationError`. */
export function quoteSchema(schema: string): string {
  if (typeof schema !== 'string' || !IDENTIFIER.test(schema)) {
    throw new ValidationError([
      {
        path: ['schema'],
        message: 'must be 1-63 letters, digits or underscores, not starting with a digit',
      },
    ]);
  }
  return `"${schema}"`;
}

/** A 64-bit advisory lock key for the schema, as pg's `bigint` text. */
export function schemaLockKey(schema: string): string {
  return createHash('sha256')
    .update(`smsbatch/postgres-store:${schema}`)
    .digest()
    .readBigInt64BE(0)
    .toString();
}
