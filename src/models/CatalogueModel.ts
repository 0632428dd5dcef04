import { CreationOptional, DataTypes, InferAttributes, InferCreationAttributes, Model, Sequelize } from 'sequelize';

/** One model a deployment can use: limits and prices (micro-dollars per 1M tokens; null = unknown). */
type Derived = 'effectiveInputMicros' | 'effectiveOutputMicros';

export class CatalogueModel extends Model<InferAttributes<CatalogueModel, { omit: Derived }>, InferCreationAttributes<CatalogueModel, { omit: Derived }>> {
  declare id: CreationOptional<string>;
  declare deploymentId: string;
  declare providerKind: string;
  declare model: string;
  declare displayName: string;
  declare contextWindow: number | null;
  declare maxOutput: number | null;
  declare inputPriceMicros: number | null;
  declare outputPriceMicros: number | null;
  declare inputPriceOverrideMicros: CreationOptional<number | null>;
  declare outputPriceOverrideMicros: CreationOptional<number | null>;
  declare priceDate: string | null;
  declare source: 'catalogue' | 'admin';
  declare hidden: CreationOptional<boolean>;
  declare createdAt: CreationOptional<Date>;
  declare updatedAt: CreationOptional<Date>;

  /** The price in force: the admin's override, else the catalogue's. */
  get effectiveInputMicros(): number | null {
    return this.inputPriceOverrideMicros ?? this.inputPriceMicros;
  }
  get effectiveOutputMicros(): number | null {
    return this.outputPriceOverrideMicros ?? this.outputPriceMicros;
  }

  static initModel(sequelize: Sequelize): void {
    // BIGINT comes back as a string from pg; prices fit comfortably in a JS number.
    const bigintAsNumber = (field: 'inputPriceMicros' | 'outputPriceMicros' | 'inputPriceOverrideMicros' | 'outputPriceOverrideMicros') => ({
      type: DataTypes.BIGINT,
      allowNull: true,
      get(this: CatalogueModel) {
        const raw = this.getDataValue(field) as unknown;
        return raw === null || raw === undefined ? null : Number(raw);
      },
    });
    CatalogueModel.init(
      {
        id: { type: DataTypes.UUID, primaryKey: true, defaultValue: DataTypes.UUIDV4 },
        deploymentId: { type: DataTypes.UUID, allowNull: false },
        providerKind: { type: DataTypes.STRING(32), allowNull: false },
        model: { type: DataTypes.STRING(200), allowNull: false },
        displayName: { type: DataTypes.STRING(200), allowNull: false },
        contextWindow: { type: DataTypes.INTEGER, allowNull: true },
        maxOutput: { type: DataTypes.INTEGER, allowNull: true },
        inputPriceMicros: bigintAsNumber('inputPriceMicros'),
        outputPriceMicros: bigintAsNumber('outputPriceMicros'),
        inputPriceOverrideMicros: bigintAsNumber('inputPriceOverrideMicros'),
        outputPriceOverrideMicros: bigintAsNumber('outputPriceOverrideMicros'),
        priceDate: { type: DataTypes.STRING(10), allowNull: true },
        source: { type: DataTypes.STRING(16), allowNull: false, defaultValue: 'catalogue' },
        hidden: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: false },
        createdAt: DataTypes.DATE,
        updatedAt: DataTypes.DATE,
      },
      { sequelize, tableName: 'models', underscored: true },
    );
  }
}
