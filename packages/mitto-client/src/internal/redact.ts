// Keeps the API key out of everything the client lets go of: error messages, causes (undici's
// errors included) and log lines. The key is never put there on purpose; this catches the cases
// where a server or a lower layer echoes it back.

export const REDACTED = '[REDACTED]';

export interface Redactor {
  text(value: string): string;
  /** A cause safe to attach: the original when it does not mention the key, else a scrubbed copy. */
  cause(value: unknown): unknown;
}

export function createRedactor(secret: string): Redactor {
  const text = (value: string): string =>
    secret.length > 0 && value.includes(secret) ? value.split(secret).join(REDACTED) : value;

  const cause = (value: unknown, depth = 0): unknown => {
    if (!(value instanceof Error)) {
      return typeof value === 'string' ? text(value) : value;
    }
    const nested = (value as { cause?: unknown }).cause;
    const scrubbedNested = depth < 4 && nested !== undefined ? cause(nested, depth + 1) : nested;
    if (!mentions(value, secret) && scrubbedNested === nested) {
      return value;
    }
    const copy = new Error(
      text(value.message),
      scrubbedNested === undefined ? undefined : { cause: scrubbedNested },
    );
    copy.name = value.name;
    copy.stack = text(value.stack ?? '');
    const code = (value as { code?: unknown }).code;
    if (code !== undefined) {
      Object.assign(copy, { code: typeof code === 'string' ? text(code) : code });
    }
    return copy;
  };

  return { text, cause: (value) => cause(value) };
}

function mentions(error: Error, secret: string): boolean {
  if (secret.length === 0) {
    return false;
  }
  if (error.message.includes(secret) || (error.stack ?? '').includes(secret)) {
    return true;
  }
  // Own enumerable fields (undici errors carry `code`, sometimes `headers` or `body`).
  for (const key of Object.keys(error)) {
    const field = (error as unknown as Record<string, unknown>)[key];
    if (typeof field === 'string' && field.includes(secret)) {
      return true;
    }
    if (field !== null && typeof field === 'object' && key !== 'cause') {
      try {
        if (JSON.stringify(field)?.includes(secret)) {
          return true;
        }
      } catch {
        // Cyclic or exotic (a socket): treat as unsafe to keep.
        return true;
      }
    }
  }
  return false;
}
