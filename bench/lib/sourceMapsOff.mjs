// Loaded after tsx in every benchmark process. tsx turns on source-mapped stack traces, and
// Sequelize's SQLite dialect reads `new Error().stack` on every query, so under tsx each query paid
// a source-map lookup (a third of the per-call CPU in the first profile). The compiled tool in
// production (`node dist/…`) has no source maps on, so the benchmarks turn them off too.
process.setSourceMapsEnabled(false);
