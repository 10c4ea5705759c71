/**
 * The checkpoint history on PostgreSQL (schema: migration 6, `checkpoint-history`): the `CheckpointHistory` of
 * `checkpoint-history.ts` as two statements on the `log_checkpoints` table. As in the file form, only growth is
 * kept: a checkpoint goes in when no checkpoint of its size or larger is there (two writers racing may both get
 * in, which is harmless: each is a true statement of the log). The smallest tree holding a leaf is found through
 * the primary key, one index probe.
 */
import type { Pool, PoolClient } from 'pg';
import { storeError } from './pg-errors.js';
import type { CheckpointHistory } from '@custody/core/ports';

/** What the statements run on: the store's pool, or a client. */
export type Queryable = Pick<Pool | PoolClient, 'query'>;

const RECORD = `INSERT INTO log_checkpoints (tree_size, note)
SELECT $1::bigint, $2::text WHERE NOT EXISTS (SELECT 1 FROM log_checkpoints WHERE tree_size >= $1::bigint)
ON CONFLICT (tree_size) DO NOTHING`;

const COVERING = 'SELECT note FROM log_checkpoints WHERE tree_size > $1::bigint ORDER BY tree_size LIMIT 1';

/**
 * Keeps a signed checkpoint of `treeSize` leaves unless one of that size or larger is kept.
 * @throws ERR_STORE_UNAVAILABLE, ERR_STORE_IO as `storeError` maps database failures
 */
export async function recordPgCheckpoint(db: Queryable, location: string, treeSize: number, note: string): Promise<void> {
  if (!Number.isSafeInteger(treeSize) || treeSize < 0) throw new TypeError(`recordCheckpoint: tree size ${treeSize} is not a count`);
  try {
    await db.query(RECORD, [treeSize, note]);
  } catch (e) {
    throw storeError(e, location, 'record a checkpoint');
  }
}

/**
 * The kept checkpoint of the smallest tree holding leaf `leafIndex`, or undefined.
 * @throws ERR_STORE_UNAVAILABLE, ERR_STORE_IO as `storeError` maps database failures
 */
export async function pgCheckpointCovering(db: Queryable, location: string, leafIndex: number): Promise<string | undefined> {
  if (!Number.isSafeInteger(leafIndex) || leafIndex < 0) return undefined;
  try {
    return (await db.query<{ note: string }>(COVERING, [leafIndex])).rows[0]?.note;
  } catch (e) {
    throw storeError(e, location, 'read the checkpoint history');
  }
}

/** The history of one database, for a caller holding its pool. */
export class PgCheckpointHistory implements CheckpointHistory {
  constructor(
    private readonly db: Queryable,
    private readonly location: string,
  ) {}

  recordCheckpoint(treeSize: number, note: string): Promise<void> {
    return recordPgCheckpoint(this.db, this.location, treeSize, note);
  }

  checkpointCovering(leafIndex: number): Promise<string | undefined> {
    return pgCheckpointCovering(this.db, this.location, leafIndex);
  }
}
