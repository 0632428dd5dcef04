// Handlebars helpers, registered from this one list. Each returns escaped text (no SafeString).

/** Handlebars passes its options object last; variadic helpers drop it. */
const args = (values: unknown[]): unknown[] => values.slice(0, -1);

export const helpers = {
  /** {{eq a b}}: strict equality, for selected options and active tabs. */
  eq: (a: unknown, b: unknown): boolean => a === b,
  /** {{#if (or a b)}}: true when any argument is truthy. */
  or: (...values: unknown[]): boolean => args(values).some(Boolean),
  /** {{#if (and a b)}}: true when every argument is truthy. */
  and: (...values: unknown[]): boolean => args(values).every(Boolean),
  /** {{#unless (not a)}}: negation, for conditions inside subexpressions. */
  not: (value: unknown): boolean => !value,
  /** {{concat "/admin" "/connections/" id}}: joins its arguments into one string (paths, ids). */
  concat: (...values: unknown[]): string => args(values).map((v) => (v === undefined || v === null ? '' : String(v))).join(''),
  /** {{withLtik "/path" ltik}}: a link that keeps the session (the ltik) in its query string. */
  withLtik: (path: string, ltik: string): string => `${path}${path.includes('?') ? '&' : '?'}ltik=${encodeURIComponent(ltik)}`,
  /** {{describedBy "f-label" hint error}}: the aria-describedby ids of an input's hint and error, or "" when it has neither. */
  describedBy: (id: string, hint: unknown, error: unknown): string => [hint ? `${id}-hint` : '', error ? `${id}-error` : ''].filter(Boolean).join(' '),
  /** {{dateTime date}}: "2025-10-01 14:03 UTC", or "" for no date. */
  dateTime: (value: unknown): string => {
    const date = value instanceof Date ? value : typeof value === 'string' ? new Date(value) : null;
    if (!date || Number.isNaN(date.getTime())) return '';
    return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  },
  /** {{formatNumber 128000}}: a count with thousands separators ("128,000"), or "" for none. */
  formatNumber: (value: unknown): string => (typeof value === 'number' && Number.isFinite(value) ? value.toLocaleString('en-US') : ''),
};
