import { DataTypes } from 'sequelize';

/** A BIGINT column read as a JS number (pg returns BIGINT as a string); micro-dollar sums fit easily. */
export function bigintNumber(field: string, allowNull = true) {
  return {
    type: DataTypes.BIGINT,
    allowNull,
    get(this: { getDataValue(key: string): unknown }) {
      const raw = this.getDataValue(field);
      return raw === null || raw === undefined ? null : Number(raw);
    },
  };
}
