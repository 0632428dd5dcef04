import { randomBytes } from 'node:crypto';
import { QueryTypes, Sequelize } from 'sequelize';
import { modelFromRow, selectColumns } from '../db/modelRows';
import { Deployment, LtiPlatform } from '../models';

// What /lti/login issued, kept server-side so the launch can prove the id_token answers *our*
// login: same issuer and client, our crypto-random nonce, the same target_link_uri.

export const LOGIN_STATE_TTL_MS = 10 * 60 * 1000;

/**
 * The login's state cookie (`state<state>`, signed): set at login, read and cleared at launch with
 * these same attributes (a browser keeps a cookie cleared with others). Partitioned (CHIPS): browsers
 * that block third-party cookies (Chromium's default now, Safari, Firefox) still keep it inside the
 * LMS's iframe, where login and launch share the LMS as top site.
 */
export const STATE_COOKIE = { httpOnly: true, secure: true, sameSite: 'none', partitioned: true, path: '/' } as const;

export interface LoginState {
  state: string;
  nonce: string;
  issuer: string;
  clientId: string;
  deploymentHint: string | null;
  targetLinkUri: string;
}

type Row = { state: string; nonce: string; issuer: string; client_id: string; deployment_hint: string | null; target_link_uri: string };

/** A login with its platform and the deployment a launch names, as they are now (each null when missing). */
export interface LaunchLookup {
  login: LoginState;
  platform: LtiPlatform | null;
  deployment: Deployment | null;
}

const toLogin = (row: Row): LoginState => ({ state: row.state, nonce: row.nonce, issuer: row.issuer, clientId: row.client_id, deploymentHint: row.deployment_hint, targetLinkUri: row.target_link_uri });

export class LoginStates {
  constructor(private readonly sequelize: Sequelize) {}

  /** Records a new login with fresh random state and nonce. */
  async create(input: Omit<LoginState, 'state' | 'nonce'>): Promise<LoginState> {
    const login: LoginState = { ...input, state: randomBytes(24).toString('hex'), nonce: randomBytes(24).toString('hex') };
    const now = new Date();
    await this.sequelize.query(
      `INSERT INTO lti_login_states (state, nonce, issuer, client_id, deployment_hint, target_link_uri, expires_at, created_at)
       VALUES (:state, :nonce, :issuer, :clientId, :deploymentHint, :targetLinkUri, :expiresAt, :now)`,
      { replacements: { ...login, expiresAt: new Date(now.getTime() + LOGIN_STATE_TTL_MS), now } },
    );
    return login;
  }

  /** Whether createForPlatform can be used (it needs INSERT inside WITH, which SQLite lacks). */
  combinesLogin(): boolean {
    return this.sequelize.getDialect() === 'postgres';
  }

  /**
   * PostgreSQL only: reads the platform(s) of this issuer (and client id) and, when exactly one
   * matches and it is active, records the login for it, in one statement. The caller checks the
   * platforms as it would after a plain read; `login` is set only when the row was written.
   */
  async createForPlatform(
    where: { issuer: string; clientId?: string },
    input: Pick<LoginState, 'deploymentHint' | 'targetLinkUri'>,
  ): Promise<{ platforms: LtiPlatform[]; login: LoginState | null }> {
    const fresh = { state: randomBytes(24).toString('hex'), nonce: randomBytes(24).toString('hex') };
    const now = new Date();
    const rows = await this.sequelize.query<Record<string, unknown>>(
      `WITH p AS (SELECT * FROM lti_platforms WHERE issuer = :issuer${where.clientId !== undefined ? ' AND client_id = :clientId' : ''} LIMIT 2),
       ins AS (INSERT INTO lti_login_states (state, nonce, issuer, client_id, deployment_hint, target_link_uri, expires_at, created_at)
         SELECT :state, :nonce, p.issuer, p.client_id, :deploymentHint, :targetLinkUri, :expiresAt, :now FROM p WHERE p.active AND (SELECT count(*) FROM p) = 1
         RETURNING issuer, client_id)
       SELECT ${selectColumns(LtiPlatform, 'p', '')}, (SELECT count(*) FROM ins) AS created FROM p`,
      { replacements: { ...where, ...fresh, ...input, expiresAt: new Date(now.getTime() + LOGIN_STATE_TTL_MS), now }, type: QueryTypes.SELECT },
    );
    const platforms = rows.map((r) => modelFromRow(LtiPlatform, r)!);
    const created = rows.length === 1 && Number(rows[0]!.created) === 1;
    return { platforms, login: created ? { ...fresh, ...input, issuer: platforms[0]!.issuer, clientId: platforms[0]!.clientId } : null };
  }

  /** The unexpired login for this state, if any. */
  /**
   * The unexpired login for this state, its platform and the deployment `deploymentId` (if any), in
   * one round trip: a launch needs all three, and nothing of them is cached, so a platform or
   * deployment switched off by any process is refused at once.
   */
  async findForLaunch(state: string, deploymentId: string | null): Promise<LaunchLookup | null> {
    const rows = await this.sequelize.query<Row & Record<string, unknown>>(
      `SELECT s.state, s.nonce, s.issuer, s.client_id, s.deployment_hint, s.target_link_uri, ${selectColumns(LtiPlatform, 'p', 'p_')}, ${selectColumns(Deployment, 'd', 'd_')}
       FROM lti_login_states s
       LEFT JOIN lti_platforms p ON p.issuer = s.issuer AND p.client_id = s.client_id
       LEFT JOIN deployments d ON d.issuer = s.issuer AND d.client_id = s.client_id AND d.deployment_id = :deploymentId
       WHERE s.state = :state AND s.expires_at > :now`,
      { replacements: { state, deploymentId, now: new Date() }, type: QueryTypes.SELECT },
    );
    const row = rows[0];
    if (!row) return null;
    return { login: toLogin(row), platform: modelFromRow(LtiPlatform, row, 'p_'), deployment: deploymentId === null ? null : modelFromRow(Deployment, row, 'd_') };
  }

  /**
   * Ends a login once its launch is accepted: records the nonce as used and deletes the state, so
   * neither can serve again. Returns false when another request consumed this login first.
   * The nonce's primary key refuses a replay even if the state row were somehow back.
   */
  async consume(state: string, nonce: string, nonceExpiresAt: Date): Promise<boolean> {
    if (this.sequelize.getDialect() === 'postgres') {
      // One statement: the delete and the insert commit (or fail) together.
      const rows = await this.sequelize.query(
        `WITH gone AS (DELETE FROM lti_login_states WHERE state = :state RETURNING state)
         INSERT INTO lti_used_nonces (nonce, expires_at) SELECT :nonce, :expiresAt FROM gone RETURNING nonce`,
        { replacements: { state, nonce, expiresAt: nonceExpiresAt }, type: QueryTypes.SELECT },
      );
      return rows.length === 1;
    }
    // SQLite has no DELETE inside WITH: the nonce first (its key refuses a second use), then the state.
    await this.sequelize.query('INSERT INTO lti_used_nonces (nonce, expires_at) VALUES (:nonce, :expiresAt)', { replacements: { nonce, expiresAt: nonceExpiresAt } });
    await this.remove(state);
    return true;
  }

  async remove(state: string): Promise<void> {
    await this.sequelize.query('DELETE FROM lti_login_states WHERE state = :state', { replacements: { state } });
  }

  /** Drops logins that were never completed. */
  async purgeExpired(): Promise<void> {
    await this.sequelize.query('DELETE FROM lti_login_states WHERE expires_at < :now', { replacements: { now: new Date() } });
  }
}
