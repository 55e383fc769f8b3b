// `Retry-After` as RFC 9110 defines it: delay-seconds or an HTTP date. A date in the past means
// "now"; anything unreadable is ignored rather than trusted.

export function parseRetryAfter(
  value: string | null | undefined,
  now = Date.now(),
): number | undefined {
  if (value == null) {
    return undefined;
  }
  const trimmed = value.trim();
  if (trimmed === '') {
    return undefined;
  }
  if (/^\d+(\.\d+)?$/.test(trimmed)) {
    return Math.round(Number(trimmed) * 1000);
  }
  // An HTTP date names its day and month; anything else (`-5`, `1e3`) is not one.
  if (!/[a-z]{3}/i.test(trimmed)) {
    return undefined;
  }
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) {
    return undefined;
  }
  return Math.max(0, at - now);
}
