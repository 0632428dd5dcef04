import { Op, Sequelize } from 'sequelize';
import { Provider } from '../models/Provider';
import type { SecretBinding, SealedSecret } from './vault';

// Where sealed secrets live. Rotation, status and the boot check walk them through here, so a
// table that starts holding secrets is added in one place.

export interface StoredSecret {
  rowId: string;
  binding: SecretBinding;
  sealed: SealedSecret;
  /** Writes a new sealed value, only if the row still holds the one we read. */
  replace(next: SealedSecret): Promise<boolean>;
}

export function providerBinding(p: Pick<Provider, 'id' | 'deploymentId' | 'ownerType' | 'ownerUserId'>): SecretBinding {
  return { deploymentId: p.deploymentId, ownerType: p.ownerType, ownerUserId: p.ownerUserId, rowId: p.id };
}

/** Visits every stored secret in id order, in batches, so memory stays flat on large tables. */
export async function forEachStoredSecret(
  sequelize: Sequelize,
  batchSize: number,
  visit: (secret: StoredSecret) => Promise<void>,
): Promise<void> {
  let lastId: string | null = null;
  for (;;) {
    const where = lastId ? { id: { [Op.gt]: lastId } } : {};
    const rows: Provider[] = await Provider.findAll({ where, order: [['id', 'ASC']], limit: batchSize });
    if (rows.length === 0) return;
    for (const row of rows) {
      const sealed = row.apiConfig?.secret;
      await visit({
        rowId: row.id,
        binding: providerBinding(row),
        sealed,
        replace: (next) =>
          sequelize.transaction(async (transaction) => {
            const fresh = await Provider.findByPk(row.id, { transaction, lock: transaction.LOCK.UPDATE });
            if (!fresh || fresh.apiConfig.secret.token !== sealed.token) return false;
            fresh.apiConfig = { ...fresh.apiConfig, secret: next };
            await fresh.save({ transaction, silent: true });
            return true;
          }),
      });
    }
    lastId = rows[rows.length - 1]!.id;
  }
}
