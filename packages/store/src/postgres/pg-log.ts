/**
 * The transparency log on PostgreSQL (schema: migration 5, `transparency-log`).
 *
 *   log_leaves   leaf idx = attestation (serial, seq), with its RFC 6962 leaf hash (level 0)
 *   log_nodes    every complete subtree above the leaves, (level >= 1, idx)
 *   log_state    one row: the size and the frontier (the perfect subtree roots, largest first)
 *
 * Appending happens in the transaction that records the attestations: `SELECT ... FOR UPDATE` on the log_state
 * row waits for any other appender to commit and then reads the size and frontier it left (READ COMMITTED
 * re-reads a locked row's newest version), so leaves are numbered without gaps, in one global order; the
 * leaves, the subtrees they complete and the new state go in with one statement. Whatever the size, a batch
 * costs two statements: the locking read and the insert. A rolled-back transaction leaves no leaf.
 *
 * Reading: the proofs of core walk a synchronous `NodeStore`. `PgLogNodes` is one in memory, filled by
 * `load` with exactly the nodes a root, inclusion proofs and a consistency proof of a given size need
 * (O(log n) nodes, one query): nodes of complete subtrees never change, so a cached node stays right forever.
 */
import type { Pool, PoolClient } from 'pg';
import { CustodyError } from '@custody/core/errors';
import { MerkleLog } from '@custody/core/log';
import { treeRoot, type NodeStore } from '@custody/core/log';
import { inclusionProof } from '@custody/core/log';
import { consistencyProof } from '@custody/core/log';
import { nodeSha256 } from '@custody/core/node';

/** One attestation to log. */
export interface PgLogEntry {
  readonly serial: string;
  readonly seq: number;
  readonly der: Uint8Array;
}

/** Counters of the append path, for tests and benchmarks. */
export interface PgLogStats {
  /** Statements sent to append (locking reads and inserts). */
  queries: number;
  /** Leaves appended. */
  leaves: number;
  /** Node rows written (leaves included). */
  nodes: number;
}

const LOCK_STATE = 'SELECT size, frontier FROM log_state FOR UPDATE';

const INSERT_LOG = `WITH l AS (
  INSERT INTO log_leaves (idx, serial, seq, hash) SELECT * FROM unnest($1::bigint[], $2::text[], $3::int[], $4::bytea[])
), n AS (
  INSERT INTO log_nodes (level, idx, hash) SELECT * FROM unnest($5::smallint[], $6::bigint[], $7::bytea[])
)
UPDATE log_state SET size = $8, frontier = $9::bytea[]`;

const buf = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

/**
 * Appends `entries` to the log, in order, inside the caller's transaction on `c` (which must also record the
 * attestations). Holds the log_state row lock until that transaction ends.
 * @param chunk most leaves per insert statement
 * @throws ERR_STORE_CORRUPT when the stored log state is not a valid frontier; database errors as they come
 */
export async function appendLog(c: PoolClient, entries: readonly PgLogEntry[], location: string, stats: PgLogStats, chunk = 1000): Promise<void> {
  if (entries.length === 0) return;
  stats.queries++;
  const state = (await c.query<{ size: string; frontier: Buffer[] }>(LOCK_STATE)).rows[0];
  if (!state) throw new CustodyError('ERR_STORE_CORRUPT', `${location}: the log has no state row (log_state is empty)`);
  let log: MerkleLog;
  try {
    log = new MerkleLog({ size: Number(state.size), hashes: state.frontier }, nodeSha256);
  } catch (e) {
    throw new CustodyError('ERR_STORE_CORRUPT', `${location}: the log state is not a valid frontier (${(e as Error).message})`, { cause: e });
  }
  for (let from = 0; from < entries.length; from += chunk) {
    const leaves: unknown[][] = [[], [], [], []];
    const nodes: unknown[][] = [[], [], []];
    for (const e of entries.slice(from, from + chunk)) {
      const [leaf, ...above] = log.appendEntry(e.der);
      leaves[0]!.push(leaf!.index);
      leaves[1]!.push(e.serial);
      leaves[2]!.push(e.seq);
      leaves[3]!.push(buf(leaf!.hash));
      for (const n of above) {
        nodes[0]!.push(n.level);
        nodes[1]!.push(n.index);
        nodes[2]!.push(buf(n.hash));
      }
      stats.nodes += 1 + above.length;
    }
    const f = log.frontier();
    stats.queries++;
    await c.query(INSERT_LOG, [...leaves, ...nodes, f.size, f.hashes.map(buf)]);
  }
  stats.leaves += entries.length;
}

// Past this many cached nodes, a load starts afresh: a long export must not keep the whole tree in memory.
const CACHE_LIMIT = 1_000_000;

/** What `PgLogNodes.load` prepares for, beside the root of the tree of `size` leaves. */
export interface LogNodeNeeds {
  /** Leaves whose inclusion proofs in that tree will be asked for. */
  leaves?: readonly number[];
  /** A smaller size whose root and consistency proof to `size` will be asked for. */
  oldSize?: number;
}

const isCount = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 0;

/** The nodes core's `treeRoot`, `inclusionProof` and `consistencyProof` read for these requests, found by a dry run. */
export function neededNodes(size: number, needs: LogNodeNeeds = {}): Array<[level: number, index: number]> {
  const out = new Map<string, [number, number]>();
  const dummy = new Uint8Array(32);
  const recorder: NodeStore = {
    get(level, index) {
      out.set(`${level}/${index}`, [level, index]);
      return dummy;
    },
  };
  const noHash = () => dummy;
  treeRoot(recorder, size, noHash);
  for (const leaf of needs.leaves ?? []) if (isCount(leaf) && leaf < size) inclusionProof(recorder, leaf, size, noHash);
  const old = needs.oldSize;
  if (isCount(old) && old <= size) {
    treeRoot(recorder, old, noHash);
    consistencyProof(recorder, old, size, noHash);
  }
  return [...out.values()];
}

const LOAD = `SELECT k.level, k.idx, coalesce(n.hash, l.hash) AS hash
FROM unnest($1::smallint[], $2::bigint[]) AS k(level, idx)
LEFT JOIN log_nodes n ON k.level > 0 AND n.level = k.level AND n.idx = k.idx
LEFT JOIN log_leaves l ON k.level = 0 AND l.idx = k.idx`;

/** The log's nodes as a synchronous `NodeStore`: an in-memory cache of the nodes `load` fetched. */
export class PgLogNodes implements NodeStore {
  readonly #levels: Array<Map<number, Uint8Array>> = [];
  #count = 0;

  constructor(private readonly location: string) {}

  /**
   * Hash of node (level, index), which a `load` must have fetched.
   * @throws ERR_LOG_NODE_MISSING when it was not loaded (or is not in the log)
   */
  get(level: number, index: number): Uint8Array {
    const h = this.#levels[level]?.get(index);
    if (h === undefined) {
      throw new CustodyError(
        'ERR_LOG_NODE_MISSING',
        `${this.location}: log node (level ${level}, index ${index}) is not loaded: call loadLogNodes with the tree size and proofs needed first`,
      );
    }
    return h;
  }

  /**
   * Fetches, in one query, the nodes not yet cached that the root of the tree of `size` leaves and the proofs
   * of `needs` read. Invalid sizes and leaves are ignored (their callers refuse them); nodes absent from the
   * database (past the log's end) stay absent.
   * @throws database errors as they come
   */
  async load(pool: Pool, size: number, needs: LogNodeNeeds = {}): Promise<void> {
    if (!isCount(size) || size === 0) return;
    if (this.#count > CACHE_LIMIT) {
      this.#levels.length = 0;
      this.#count = 0;
    }
    const want = neededNodes(size, needs).filter(([level, index]) => !this.#levels[level]?.has(index));
    if (want.length === 0) return;
    const rows = (await pool.query<{ level: number; idx: string; hash: Buffer | null }>(LOAD, [want.map((w) => w[0]), want.map((w) => w[1])])).rows;
    for (const r of rows) {
      if (r.hash === null) continue;
      (this.#levels[r.level] ??= new Map()).set(Number(r.idx), new Uint8Array(r.hash.buffer, r.hash.byteOffset, r.hash.byteLength));
      this.#count++;
    }
  }
}
