import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

export const REPO_ROOT = path.join(__dirname, '..', '..');
const SOURCE_MAPS_OFF = pathToFileURL(path.join(__dirname, 'sourceMapsOff.mjs')).href;

/** A free TCP port on loopback (listen on 0, read it, close). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface Child {
  process: ChildProcess;
  /** Resident memory now and at its peak (VmRSS / VmHWM from /proc), in MB. */
  memory(): { rssMb: number; peakMb: number };
  stop(): Promise<void>;
}

/** Runs an entry (built JavaScript for src/, tsx otherwise) and resolves when its stdout shows `ready` (a substring). */
export async function startChild(entry: string, env: Record<string, string | undefined>, ready: string, timeoutMs = 60000): Promise<Child> {
  // BENCH_CHILD_PROFILE_DIR=dir: each child writes a CPU profile there when it exits (node --cpu-prof).
  const profile = process.env.BENCH_CHILD_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CHILD_PROFILE_DIR}`] : [];
  // The tool's own processes (src/) run as `npm start` runs them: the compiled JavaScript in dist/,
  // which `npm run bench` builds first (loaded through tsx, the web process took ~30 MB more).
  const built = entry.startsWith('src/') ? path.join(REPO_ROOT, 'dist', entry.replace(/\.ts$/, '.js')) : null;
  if (built && !fs.existsSync(built)) throw new Error(`${built} is missing: run npm run build first (npm run bench does)`);
  const args = built ? [...profile, built] : [...profile, '--import', 'tsx', '--import', SOURCE_MAPS_OFF, path.join(REPO_ROOT, entry)];
  const child = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${entry} did not start within ${timeoutMs} ms:\n${err.slice(-2000)}`)), timeoutMs);
    child.stdout!.on('data', (chunk) => {
      if (out.length < 100000) out += String(chunk);
      if (out.includes(ready)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.stderr!.on('data', (chunk) => {
      if (err.length < 100000) err += String(chunk);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${entry} exited with ${code}:\n${err.slice(-2000)}`));
    });
  });
  // Keep draining so a chatty child never blocks on a full pipe; BENCH_LOG_DIR keeps its output.
  child.stdout!.removeAllListeners('data');
  child.stderr!.removeAllListeners('data');
  if (process.env.BENCH_LOG_DIR) {
    const log = fs.createWriteStream(path.join(process.env.BENCH_LOG_DIR, `${path.basename(entry, '.ts')}-${child.pid}.log`));
    log.write(out + err);
    child.stdout!.pipe(log);
    child.stderr!.pipe(log);
  } else {
    child.stdout!.resume();
    child.stderr!.resume();
  }
  return {
    process: child,
    memory: () => memoryOf(child.pid!),
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export function memoryOf(pid: number): { rssMb: number; peakMb: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN);
  return { rssMb: Math.round(kb('VmRSS') / 1024), peakMb: Math.round(kb('VmHWM') / 1024) };
}
