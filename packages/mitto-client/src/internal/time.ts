// Provider timestamps to epoch milliseconds: ISO 8601 with or without a zone, epoch seconds or
// milliseconds, as numbers or numeric strings. Unreadable means unknown (`null`), never "now".

// Mitto writes UTC; a timestamp without a zone is read as UTC, not as this machine's local time.
const NO_ZONE = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/;

export function parseTime(value: string | number): number | null {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value <= 0) {
      return null;
    }
    // Seconds until the year 5138; milliseconds after 1973.
    return value < 1e11 ? Math.round(value * 1000) : Math.round(value);
  }
  const trimmed = value.trim();
  if (trimmed === '') {
    return null;
  }
  if (/^\d+(\.\d+)?$/.test(trimmed)) {
    return parseTime(Number(trimmed));
  }
  const ms = Date.parse(NO_ZONE.test(trimmed) ? `${trimmed.replace(' ', 'T')}Z` : trimmed);
  return Number.isNaN(ms) ? null : ms;
}
