// Turns zod issues into core's ValidationError, so every bad input names its field the same way.

import type { z } from 'zod';
import { ValidationError, type ValidationIssue } from './errors.js';

export function toIssues(issues: readonly z.core.$ZodIssue[], prefix: (string | number)[] = []) {
  return issues.map(
    (issue): ValidationIssue => ({
      path: [...prefix, ...issue.path.filter((p): p is string | number => typeof p !== 'symbol')],
      message: issue.message,
    }),
  );
}

/** Parses `input` with `schema` or throws a ValidationError naming each bad field. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const parsed = schema.safeParse(input);
  if (!parsed.success) throw new ValidationError(toIssues(parsed.error.issues));
  return parsed.data;
}
