export { EmbeddedStore, STORE_FORMAT, STORE_VERSION, type EmbeddedStoreOptions } from './embedded-store.js';
export { readPrivateKeyFile, writePrivateKeyFile, decodePrivateKey, encodePrivateKey, type KeyProtection } from './keys.js';
export { acquireStoreLock, type StoreLock } from './lock.js';
export { writeFileDurably } from './durable-json-file.js';
export type { CARecord, PartyRecord, KeyRef, Store, Revocation, EvidenceRecord, LogConfig, CheckpointHistory } from './types.js';
export { PgStore, type PgStoreOptions } from './postgres/pg-store.js';
export { openStoreAt, initStoreAt, isPostgresLocation, type StoreOptions } from './open.js';
export { FileCheckpointHistory } from './checkpoint-history.js';
