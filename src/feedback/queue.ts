import { EventEmitter } from 'node:events';

// Tells the worker(s) of this process that runs were queued, so they start at once instead of at
// the next poll. Other processes find the rows by polling; the database stays the truth.
export const runQueue = new EventEmitter();
runQueue.setMaxListeners(50);

export function notifyRunsQueued(): void {
  runQueue.emit('queued');
}
