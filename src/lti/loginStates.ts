import { randomBytes } from 'node:crypto';
import { QueryTypes, Sequelize } from 'sequelize';

// What /lti/login issued, kept server-side so the launch can prove the id_token answers *our*
// login: same issuer and client, our crypto-random nonce, the same target_link_uri.

export const LOGIN_STATE_TTL_MS = 10 * 60 * 1000;

export interface LoginState {
  state: string;
  nonce: string;
  issuer: string;
  clientId: string;
  deploymentHint: string | null;
  targetLinkUri: string;
}

type Row = { state: string; nonce: string; issuer: string; client_id: string; deployment_hint: string | null; target_link_uri: string };

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

  /** The unexpired login for this state, if any. */
  async find(state: string): Promise<LoginState | null> {
    const rows = await this.sequelize.query<Row>(
      'SELECT state, nonce, issuer, client_id, deployment_hint, target_link_uri FROM lti_login_states WHERE state = :state AND expires_at > :now',
      { replacements: { state, now: new Date() }, type: QueryTypes.SELECT },
    );
    const row = rows[0];
    return row ? { state: row.state, nonce: row.nonce, issuer: row.issuer, clientId: row.client_id, deploymentHint: row.deployment_hint, targetLinkUri: row.target_link_uri } : null;
  }

  async remove(state: string): Promise<void> {
    await this.sequelize.query('DELETE FROM lti_login_states WHERE state = :state', { replacements: { state } });
  }

  /** Drops logins that were never completed. */
  async purgeExpired(): Promise<void> {
    await this.sequelize.query('DELETE FROM lti_login_states WHERE expires_at < :now', { replacements: { now: new Date() } });
  }
}
