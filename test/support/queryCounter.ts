import { randomUUID } from 'node:crypto';
import type { Sequelize } from 'sequelize';

// Counts the SQL statements our Sequelize instance runs while a piece of work runs (a request
// through the app), so a test can insist that a list screen's statement count does not grow with
// its rows (no N+1). ltijs keeps its own database connection and is not counted. Nothing else may
// use this Sequelize instance meanwhile (no worker in the test process while counting).

export interface Counted<T> {
  result: T;
  /** Every statement, in order, as sent (for the failure message). */
  statements: string[];
}

export async function countStatements<T>(sequelize: Sequelize, work: () => Promise<T>): Promise<Counted<T>> {
  const statements: string[] = [];
  const name = `count-${randomUUID()}`;
  // afterQuery: the statement's text is known once it ran; it fires for failed statements too.
  sequelize.addHook('afterQuery', name, (_options, query) => {
    statements.push(String((query as unknown as { sql?: string }).sql ?? '?'));
  });
  try {
    const result = await work();
    return { result, statements };
  } finally {
    sequelize.removeHook('afterQuery', name);
  }
}
