// The public face of src/secrets, the only code that ever sees SECRET_KEY.
// unwrapKeyMaterial is deliberately absent: raw secrets never leave this folder.
export { InvalidTokenError, fernetEncrypt, fernetDecrypt } from './fernet';
export { deriveFernetKey } from './kdf';
export { KeyMaterial, createKeyMaterial, secretStrengthProblem } from './keyMaterial';
export { Keyring, createKeyring } from './keyring';
export {
  CredentialUnreadableError,
  seal,
  reveal,
  reseal,
  keyHint,
  keyFingerprint,
  isSealedSecret,
} from './vault';
export type { SecretBinding, SealedSecret } from './vault';
export { loadOrCreateDevKey } from './devKeys';
