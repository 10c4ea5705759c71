export { EmbeddedStore, STORE_FORMAT, STORE_VERSION, type EmbeddedStoreOptions } from './embedded-store.js';
export { readPrivateKeyFile, writePrivateKeyFile, decodePrivateKey, encodePrivateKey, type KeyProtection } from './keys.js';
export { acquireStoreLock, type StoreLock } from './lock.js';
export { writeFileDurably } from './durable-json-file.js';
export type { CARecord, PartyRecord, KeyRef, Store } from './types.js';
