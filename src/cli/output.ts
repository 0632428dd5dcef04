import { scrubText } from '../logger';

/** CLI output goes to stdout directly (not the JSON logger) but still through the redaction patterns. */
export const print = (text = ''): void => {
  process.stdout.write(`${scrubText(text)}\n`);
};
export const printError = (text: string): void => {
  process.stderr.write(`${scrubText(text)}\n`);
};
