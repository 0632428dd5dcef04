// Test defaults; a variable already set (DATABASE_URL for the PostgreSQL run) wins.
const defaults: Record<string, string> = {
  NODE_ENV: 'test',
  LOG_LEVEL: 'silent',
  SECRET_KEY: 'test-secret-key-3f9a1c7e5b2d8f604a1e9c3b7d5f2a8e',
  LTI_KEY: 'test-lti-key-8e2a5f7d3b9c1e4a6f0d8b2c5e7a9f13',
  KDF_ITERATIONS: '1000',
  PUBLIC_URL: 'http://localhost:3000',
};
for (const [key, value] of Object.entries(defaults)) {
  if (process.env[key] === undefined) process.env[key] = value;
}
