// Local declarations for ltijs 5.9 (the published @types/ltijs describe v4). Only what we use.

declare module 'ltijs' {
  import type { Express, Request, Response, NextFunction } from 'express';

  export interface PlatformAuthConfig {
    method: 'JWK_SET' | 'JWK_KEY' | 'RSA_KEY';
    key: string;
  }

  export interface Platform {
    platformUrl(): Promise<string>;
    platformClientId(): Promise<string>;
    platformKid(): Promise<string>;
    platformId(): Promise<string>;
    platformName(name?: string): Promise<string>;
    platformActive(active?: boolean): Promise<boolean>;
    platformAuthConfig(): Promise<PlatformAuthConfig>;
    platformAuthEndpoint(): Promise<string>;
    platformAccessTokenEndpoint(): Promise<string>;
    platformAuthorizationServer(): Promise<string>;
    platformPrivateKey(): Promise<string>;
    platformPublicKey(): Promise<string>;
    delete(): Promise<boolean>;
  }

  export interface RegisterPlatformOptions {
    url: string;
    name: string;
    clientId: string;
    authenticationEndpoint: string;
    accesstokenEndpoint: string;
    authorizationServer?: string;
    authConfig: PlatformAuthConfig;
  }

  /** The id_token as ltijs stores it (`res.locals.token`), enough for its services. */
  export interface IdToken {
    iss: string;
    user: string;
    clientId: string;
    deploymentId: string;
    platformId?: string;
    userInfo?: Record<string, unknown>;
    platformInfo?: Record<string, unknown>;
    platformContext: {
      contextId?: string;
      context?: Record<string, unknown>;
      resource?: Record<string, unknown>;
      messageType?: string;
      roles?: string[];
      custom?: Record<string, unknown>;
      endpoint?: { scope?: string[]; lineitems?: string; lineitem?: string };
      namesRoles?: { context_memberships_url?: string };
      deepLinkingSettings?: Record<string, unknown>;
      targetLinkUri?: string;
    };
  }

  export interface ScoreBody {
    userId?: string;
    scoreGiven?: number;
    scoreMaximum?: number;
    comment?: string;
    activityProgress: string;
    gradingProgress: string;
    timestamp?: string;
  }

  export interface ContentItem {
    type: string;
    title?: string;
    text?: string;
    url?: string;
    custom?: Record<string, string>;
    lineItem?: Record<string, unknown>;
    [key: string]: unknown;
  }

  type Handler = (req: Request, res: Response, next: NextFunction) => unknown;
  type TokenHandler = (token: IdToken, req: Request, res: Response, next: NextFunction) => unknown;

  export interface SetupOptions {
    appRoute?: string;
    loginRoute?: string;
    keysetRoute?: string;
    dynRegRoute?: string;
    cors?: boolean;
    ltiaas?: boolean;
    devMode?: boolean;
    tokenMaxAge?: number | false;
    cookies?: { secure?: boolean; sameSite?: string; domain?: string };
    serverAddon?: (app: Express) => void;
  }

  export interface Provider {
    app: Express;
    Database: unknown;
    Grade: {
      submitScore(idtoken: IdToken, lineItemId: string, score: ScoreBody): Promise<unknown>;
      getLineItems(idtoken: IdToken, options?: Record<string, unknown>): Promise<{ lineItems: Array<Record<string, unknown>> }>;
      createLineItem(idtoken: IdToken, lineItem: Record<string, unknown>, options?: Record<string, unknown>): Promise<Record<string, unknown>>;
    };
    DeepLinking: {
      createDeepLinkingMessage(idtoken: IdToken, contentItems: ContentItem[], options?: { message?: string; log?: string; errMessage?: string; errLog?: string }): Promise<string>;
    };
    NamesAndRoles: {
      getMembers(idtoken: IdToken, options?: Record<string, unknown>): Promise<{ members: Array<Record<string, unknown>> }>;
    };
    setup(encryptionKey: string, database: { plugin: unknown }, options?: SetupOptions): Provider;
    deploy(options?: { serverless?: boolean; silent?: boolean }): Promise<boolean>;
    close(options?: { silent?: boolean }): Promise<boolean>;
    onConnect(cb: TokenHandler): void;
    onDeepLinking(cb: TokenHandler): void;
    onInvalidToken(cb: Handler): void;
    onSessionTimeout(cb: Handler): void;
    onUnregisteredPlatform(cb: Handler): void;
    onInactivePlatform(cb: Handler): void;
    onDynamicRegistration(cb: Handler): void;
    registerPlatform(options: RegisterPlatformOptions): Promise<Platform>;
    getPlatform(url: string, clientId: string): Promise<Platform | false>;
    deletePlatform(url: string, clientId: string): Promise<boolean>;
  }

  export const Provider: Provider;
}

declare module 'ltijs-sequelize' {
  import type { Options, Sequelize } from 'sequelize';
  class Database {
    constructor(database: string, user: string | null, pass: string | null, options: Options);
    db: Sequelize;
    setup(): Promise<boolean>;
    Close(): Promise<boolean>;
  }
  export = Database;
}

declare module 'ltijs/dist/Utils/Auth' {
  type ValidateToken = (
    token: string,
    devMode: boolean,
    validationParameters: { iss?: string; maxAge?: number | false; alg?: string },
    getPlatform: unknown,
    encryptionKey: string,
    database: unknown,
  ) => Promise<Record<string, unknown>>;
  const Auth: { validateToken: ValidateToken };
  export = Auth;
}
