// Handlebars helpers, registered from this one list. Each returns escaped text (no SafeString).

export const helpers = {
  /** {{eq a b}}: strict equality, for selected options and active tabs. */
  eq: (a: unknown, b: unknown): boolean => a === b,
  /** {{withLtik "/path" ltik}}: a link that keeps the session (the ltik) in its query string. */
  withLtik: (path: string, ltik: string): string => `${path}${path.includes('?') ? '&' : '?'}ltik=${encodeURIComponent(ltik)}`,
};
