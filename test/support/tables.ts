import { QueryTypes, Sequelize } from 'sequelize';

/** Every row of every table of the database (ours, ltijs's, the migration log), as JSON text per table. */
export async function dumpAllTables(sequelize: Sequelize): Promise<Record<string, string>> {
  const dialect = sequelize.getDialect();
  const names =
    dialect === 'postgres'
      ? (await sequelize.query<{ name: string }>("SELECT table_schema || '.' || table_name AS name FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema') AND table_type = 'BASE TABLE'", { type: QueryTypes.SELECT })).map((r) => r.name)
      : (await sequelize.query<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'", { type: QueryTypes.SELECT })).map((r) => r.name);
  const dump: Record<string, string> = {};
  for (const name of names) {
    const quoted = name.split('.').map((part) => `"${part}"`).join('.');
    const rows = await sequelize.query(`SELECT * FROM ${quoted}`, { type: QueryTypes.SELECT });
    dump[name.replace(/^public\./, '')] = JSON.stringify(rows);
  }
  return dump;
}
