import fs from 'node:fs';
import { Session } from 'node:inspector/promises';

// BENCH_CPU_PROFILE=file.cpuprofile: a CPU profile of the main thread over the measured loop only
// (not the setup), for Chrome DevTools or speedscope.
export async function startProfileIfAsked(): Promise<{ stop(): Promise<void> } | null> {
  const file = process.env.BENCH_CPU_PROFILE;
  if (!file) return null;
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 });
  await session.post('Profiler.start');
  return {
    stop: async () => {
      const { profile } = await session.post('Profiler.stop');
      fs.writeFileSync(file, JSON.stringify(profile));
      session.disconnect();
    },
  };
}
