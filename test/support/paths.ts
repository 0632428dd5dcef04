import fs from 'node:fs';
import path from 'node:path';

export const REPO_ROOT = path.join(__dirname, '..', '..');
export const FIXTURES = path.join(REPO_ROOT, '..', 'shared', 'fixtures');
const TMP_ROOT = path.join(REPO_ROOT, '.tmp', 'test');

// globalSetup picks a run id and exports it to the workers through the environment, so two jest runs
// at once (a developer and a watcher, or parallel sessions) never share files or databases.
export const runTmpDir = (): string => path.join(TMP_ROOT, process.env.FF_TEST_RUN ?? 'default');
export const sqliteTemplate = (): string => path.join(runTmpDir(), 'template.sqlite');
export { TMP_ROOT };

export const isPostgres = (): boolean => /^postgres(ql)?:/.test(process.env.DATABASE_URL ?? '');

/** The files below `dir` (recursively) whose name matches, as paths relative to the repository. */
export function filesUnder(dir: string, name: RegExp): string[] {
  return fs
    .readdirSync(path.join(REPO_ROOT, dir), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && name.test(entry.name))
    .map((entry) => path.relative(REPO_ROOT, path.join(entry.parentPath, entry.name)))
    .sort();
}
