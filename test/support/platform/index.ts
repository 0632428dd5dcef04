// The LMS side of the tests: a Moodle/Canvas-flavoured LTI 1.3 platform and its helpers.
export { TestPlatform, type StartOptions } from './TestPlatform';
export { CookieJar, type CookieJarOptions, type StoredCookie } from './cookies';
export { CLAIM, FIXTURE_NAMES, NONCE_PLACEHOLDER, capturedPayload, fixtureFlavour, loadFixture, type FixtureName, type Flavour } from './fixtures';
export type { KeyChoice, SignOptions } from './keys';
export type { AuthRequest, LaunchOptions, LaunchResult } from './launch';
export type { HttpResponse, ToolTarget } from './browser';
export { extractAutoSubmitForm } from './deepLinking';
export { SCOPES } from './token';
export type { LineItem, RejectedScore, ScoreRecord } from './ags';
export type { Registration } from './dynreg';
