import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { parseDatabaseUrl, type DatabaseSettings } from '../../src/config';
import { createSequelize } from '../../src/db/connection';
import { REPO_ROOT } from './processes';

// Each benchmark run gets its own databases, dropped at the end: a SQLite file under .tmp/bench, or
// a new PostgreSQL database next to the one DATABASE_URL names (the user needs CREATEDB).

export type Dialect = 'sqlite' | 'postgres';

export function benchDialect(): Dialect {
  return /^postgres(ql)?:/.test(process.env.DATABASE_URL ?? '') ? 'postgres' : 'sqlite';
}

export function settingsOf(url: string): DatabaseSettings {
  const settings = parseDatabaseUrl(url, REPO_ROOT);
  if (typeof settings === 'string') throw new Error(`DATABASE_URL ${settings}`);
  return settings;
}

export interface BenchDatabase {
  url: string;
  drop(): Promise<void>;
}

/** A new, empty database of the bench dialect (`label` names it). */
export async function createBenchDatabase(label: string): Promise<BenchDatabase> {
  if (benchDialect() === 'sqlite') {
    const dir = path.join(REPO_ROOT, '.tmp', 'bench');
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `${label}-${process.pid}-${randomUUID().slice(0, 8)}.sqlite`);
    return {
      url: `sqlite:${file}`,
      drop: async () => {
        for (const suffix of ['', '-wal', '-shm']) fs.rmSync(`${file}${suffix}`, { force: true });
      },
    };
  }
  const base = new URL(process.env.DATABASE_URL!);
  const name = `ff_bench_${label}_${randomUUID().replace(/-/g, '').slice(0, 8)}`;
  const admin = createSequelize(settingsOf(process.env.DATABASE_URL!));
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.close();
  base.pathname = `/${name}`;
  return {
    url: base.toString(),
    drop: async () => {
      const again = createSequelize(settingsOf(process.env.DATABASE_URL!));
      await again.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
      await again.close();
    },
  };
}
