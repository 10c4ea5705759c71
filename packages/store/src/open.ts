/**
 * The one store opener, for both backends: a `postgres://` or `postgresql://` URL is PostgreSQL, anything else a
 * folder. The PostgreSQL backend (and its driver) is loaded only for a URL, so that a command on an embedded
 * store starts without it.
 */
import { EmbeddedStore, type EmbeddedStoreOptions } from './embedded-store.js';
import type { PgStoreOptions } from './postgres/pg-store.js';
import type { Store } from './types.js';

/** Options for either backend; each takes the ones it knows. */
export type StoreOptions = EmbeddedStoreOptions & PgStoreOptions;

/** True when `location` is a PostgreSQL connection URL rather than a folder. */
export function isPostgresLocation(location: string): boolean {
  return /^postgres(ql)?:\/\//i.test(location);
}

/**
 * Opens the store a `--store` value names. An embedded store keeps its keys in its own folder (`keyDir` is not
 * read); a PostgreSQL store uses `keyDir` and, without one, refuses every key operation (ERR_USAGE_STORE_KEYS).
 * @throws ERR_STORE_MISSING, ERR_STORE_CORRUPT, ERR_STORE_VERSION, ERR_STORE_UNAVAILABLE (PostgreSQL), ERR_STORE_IO
 */
export async function openStoreAt(location: string, opts: StoreOptions = {}): Promise<Store> {
  if (!isPostgresLocation(location)) return EmbeddedStore.open(location, opts);
  const { PgStore } = await import('./postgres/pg-store.js');
  return PgStore.open(location, opts);
}

/**
 * Creates a store: a new folder, or the schema in a PostgreSQL database (created or upgraded; running it
 * again on a current schema changes nothing).
 * @throws ERR_CONFLICT_STORE_EXISTS (folder), ERR_STORE_VERSION, ERR_STORE_UNAVAILABLE, ERR_STORE_IO
 */
export async function initStoreAt(location: string, now: Date, opts: StoreOptions = {}): Promise<Store> {
  if (!isPostgresLocation(location)) return EmbeddedStore.init(location, now, opts);
  const { PgStore } = await import('./postgres/pg-store.js');
  return PgStore.init(location, now, opts);
}
