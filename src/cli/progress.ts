/**
 * A progress reporter for long CLI jobs: prints "done of total (percent)" at each tenth of the way
 * (and at least every `every` items), never more than once per step, so a log stays short.
 */
export function progressReporter(total: number, noun: string, print: (line: string) => void, every = 100): (done: number) => void {
  const step = Math.max(1, Math.min(every, Math.ceil(total / 10)));
  return (done) => {
    if (done !== total && done % step !== 0) return;
    const percent = total > 0 ? Math.floor((done / total) * 100) : 100;
    print(`  ${done} of ${total} ${noun} (${percent}%)…`);
  };
}
