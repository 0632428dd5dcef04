import path from 'node:path';

export const REPO_ROOT = path.join(__dirname, '..', '..');
export const FIXTURES = path.join(REPO_ROOT, '..', 'shared', 'fixtures');
export const TMP_DIR = path.join(REPO_ROOT, '.tmp', 'test');
export const SQLITE_TEMPLATE = path.join(TMP_DIR, 'template.sqlite');

export const isPostgres = (): boolean => /^postgres(ql)?:/.test(process.env.DATABASE_URL ?? '');
