import { Sequelize } from 'sequelize';
import { Config } from '../../src/config';
import { Provider } from '../../src/models';
import { openRuntime, Runtime } from '../../src/runtime';
import { verifySecretKey, WrongSecretKeyError } from '../../src/secrets/bootCheck';
import { createKeyMaterial } from '../../src/secrets/keyMaterial';
import { createKeyring, Keyring } from '../../src/secrets/keyring';
import { rotateSecrets, secretsStatus } from '../../src/secrets/rotation';
import { providerBinding } from '../../src/secrets/storedSecrets';
import { reveal } from '../../src/secrets/vault';
import { testConfig } from '../support/context';
import { isolatedDatabaseUrl } from '../support/db';
import { createDeployment, createProvider, createUser } from '../support/factories';

const KEY_A = 'key-A-5d1f8a2c7e9b3046f1a8c2e7d9b4f6a0';
const KEY_B = 'key-B-0a6f4b9d7e2c8a1f6403b9e7c2a8f1d5';
const ITERATIONS = 1000;
const ring = (current: string, previous: string[] = []): Keyring =>
  createKeyring(createKeyMaterial({ current, previous, salt: 'feedforward-lti/fernet-salt/v1', iterations: ITERATIONS }));

async function revealAll(keyring: Keyring): Promise<string[]> {
  const rows = await Provider.findAll({ order: [['id', 'ASC']] });
  return rows.map((p) => reveal(keyring, providerBinding(p), p.apiConfig.secret));
}

async function snapshot(sequelize: Sequelize): Promise<unknown> {
  const [providers] = await sequelize.query('SELECT id, api_config FROM providers ORDER BY id');
  const [checks] = await sequelize.query('SELECT kid, token FROM key_checks');
  return { providers, checks };
}

describe('SECRET_KEY lifecycle: boot check and rotation', () => {
  let runtime: Runtime;
  let config: Config;
  const plaintexts: string[] = [];

  beforeAll(async () => {
    config = testConfig({ SECRET_KEY: KEY_A, KDF_ITERATIONS: String(ITERATIONS) }, await isolatedDatabaseUrl());
    runtime = await openRuntime({ config });
    const deployment = await createDeployment();
    const instructor = await createUser(deployment);
    for (let i = 0; i < 6; i += 1) {
      const { apiKey } = await createProvider(runtime.keyring, { deployment, owner: i % 2 ? instructor : null });
      plaintexts.push(apiKey);
    }
  });
  afterAll(() => runtime.close());

  const sorted = (xs: string[]) => [...xs].sort();

  test('the first boot records a key check, later boots verify it', async () => {
    expect(await verifySecretKey(runtime.sequelize, ring(KEY_A))).toBe('verified');
  });

  test('a wrong SECRET_KEY refuses to start, names key ids only, and changes no row', async () => {
    const before = await snapshot(runtime.sequelize);
    const error = await verifySecretKey(runtime.sequelize, ring('wrong-key-7c1e9a3f5b8d2c4e6a0f1b3d5e7c9a2b')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WrongSecretKeyError);
    expect((error as Error).message).toMatch(/SECRET_KEY does not match this database: it was encrypted with key id [0-9a-f]{16}/);
    expect((error as Error).message).not.toContain('wrong-key');
    expect(await snapshot(runtime.sequelize)).toEqual(before);
  });

  test('a changed ENCRYPTION_SALT is caught by the boot check', async () => {
    const changedSalt = createKeyring(createKeyMaterial({ current: KEY_A, previous: [], salt: 'another-salt-value', iterations: ITERATIONS }));
    await expect(verifySecretKey(runtime.sequelize, changedSalt)).rejects.toBeInstanceOf(WrongSecretKeyError);
  });

  test('retiring key A while rows still use it is refused', async () => {
    // B alone cannot read the check row (sealed by A), so this fails at the first step.
    await expect(verifySecretKey(runtime.sequelize, ring(KEY_B))).rejects.toBeInstanceOf(WrongSecretKeyError);
  });

  test('rotate A→B survives a failure half-way, resumes, and loses nothing', async () => {
    const rotating = ring(KEY_B, [KEY_A]);
    expect(await verifySecretKey(runtime.sequelize, rotating)).toBe('upgraded');
    expect(sorted(await revealAll(rotating))).toEqual(sorted(plaintexts));

    let seen = 0;
    const crash = rotateSecrets(runtime.sequelize, rotating, {
      batchSize: 2,
      beforeRow: () => {
        seen += 1;
        if (seen === 4) throw new Error('simulated crash');
      },
    });
    await expect(crash).rejects.toThrow('simulated crash');
    const midway = await secretsStatus(runtime.sequelize, rotating);
    expect(midway.remainingOnOldKeys).toBe(3);
    // Mid-way every row is readable by the keyring that holds both keys.
    expect(sorted(await revealAll(rotating))).toEqual(sorted(plaintexts));

    const done = await rotateSecrets(runtime.sequelize, rotating, { batchSize: 2 });
    expect(done.rotated).toBe(3);
    expect(done.status.remainingOnOldKeys).toBe(0);
    expect(done.status.keys).toEqual([{ kid: rotating.currentKeyId, count: 6, state: 'current' }]);
  });

  test('once nothing uses A, it can be removed and everything still reads', async () => {
    const onlyB = ring(KEY_B);
    expect(await verifySecretKey(runtime.sequelize, onlyB)).toBe('verified');
    expect(sorted(await revealAll(onlyB))).toEqual(sorted(plaintexts));
    await expect(revealAll(ring(KEY_A))).rejects.toThrow(/credential unreadable/);
  });

  test('openRuntime with the retired key A now refuses to start', async () => {
    const stale = { ...config, keyMaterial: createKeyMaterial({ current: KEY_A, previous: [], salt: 'feedforward-lti/fernet-salt/v1', iterations: ITERATIONS }) };
    await expect(openRuntime({ config: stale })).rejects.toBeInstanceOf(WrongSecretKeyError);
  });
});
