import { progressReporter } from '../../src/cli/progress';

describe('CLI progress lines', () => {
  const lines = (total: number, every?: number) => {
    const out: string[] = [];
    const report = progressReporter(total, 're-encrypted', (l) => out.push(l.trim()), every);
    for (let done = 1; done <= total; done += 1) report(done);
    return out;
  };

  test('a long job reports each tenth of the way and ends on the final count', () => {
    const out = lines(250);
    expect(out).toHaveLength(10);
    expect(out[0]).toBe('25 of 250 re-encrypted (10%)…');
    expect(out.at(-1)).toBe('250 of 250 re-encrypted (100%)…');
  });

  test('a small job reports every item, and a huge one at least every `every` items', () => {
    expect(lines(3)).toEqual(['1 of 3 re-encrypted (33%)…', '2 of 3 re-encrypted (66%)…', '3 of 3 re-encrypted (100%)…']);
    expect(lines(5000, 100)).toHaveLength(50);
  });
});
