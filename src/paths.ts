import path from 'node:path';

// The project root, whether running from src/ (ts-jest) or from dist/src/ (compiled).
const srcDir = __dirname;
export const PROJECT_ROOT = path.basename(path.dirname(srcDir)) === 'dist' ? path.dirname(path.dirname(srcDir)) : path.dirname(srcDir);
export const VIEWS_DIR = path.join(PROJECT_ROOT, 'views');
export const PUBLIC_DIR = path.join(PROJECT_ROOT, 'public');
