/**
 * Devices' attestation chains on PostgreSQL: where each chain ends, and the rounds of an append. The schema
 * refuses a second successor of an attestation (a fork) whichever process tried first, so an append is one
 * statement per round (pg-devices.ts `APPEND`), its rows saying for each item whether it extended the chain.
 */
import type { Pool, PoolClient } from 'pg';
import type { AppendResult, AttestationAppend, ChainFacts, ChainTip } from '@custody/core/ports';
import { appendClaiming, type AppendClaim } from '../append-claims.js';
import { challengeRefusal } from '../challenges.js';
import { highSRefusal } from '../low-s.js';
import { roundsBySerial } from '../rounds.js';
import { queryRows } from './pg-database.js';
import { APPEND, buf, bytes, factsParam } from './pg-devices.js';
import { spendChallenge } from './pg-documents.js';
import { pgLDevIDClaim } from './pg-ldevids.js';
import type { PgLogEntry } from './pg-log.js';

/**
 * The chain tips of these devices (undefined for one not recorded): one query for the newest attestation of each,
 * with what its statement says where that was recorded, else its DER.
 */
export async function readPgTips(pool: Pool, location: string, serials: readonly string[]): Promise<Array<ChainTip | undefined>> {
  const rows = await queryRows<{ serial: string; seq: number | null; der: Buffer | null; hash: Buffer | null; facts: ChainFacts | null }>(
    pool,
    location,
    `SELECT d.serial, a.seq, a.hash, a.facts, CASE WHEN a.facts IS NULL THEN a.der END AS der FROM devices d
       LEFT JOIN LATERAL (SELECT seq, der, hash, facts FROM attestations WHERE serial = d.serial ORDER BY seq DESC LIMIT 1) a ON true
      WHERE d.serial = ANY($1)`,
    [[...serials]],
    'read chain tips',
  );
  const bySerial = new Map(rows.map((r) => [r.serial, r]));
  return serials.map((serial) => {
    const r = bySerial.get(serial);
    if (!r) return undefined;
    if (r.seq === null) return { serial, length: 0, lastHash: null };
    const tip = { serial, length: r.seq + 1, lastHash: r.hash!.toString('hex') };
    return r.facts ? { ...tip, facts: r.facts } : { ...tip, last: bytes(r.der!) };
  });
}

/**
 * Appends `items` in the transaction on `c`, each device on its own, with the facts each brings (an item
 * without them leaves its tip to be read from the DER): each item's result, and the accepted ones
 * as log entries in the embedded store's order (devices in the order of their first accepted item, each
 * device's in seq order). Items for the same device apply in order.
 */
export async function appendPgRounds(
  c: PoolClient,
  items: readonly AttestationAppend[],
  location: string,
): Promise<{ results: AppendResult[]; logged: PgLogEntry[] }> {
  const results: AppendResult[] = new Array(items.length);
  const seqs: Array<number | undefined> = new Array(items.length);
  // Round k holds the k-th item of each device, so that one statement never extends a chain twice.
  for (const all of roundsBySerial(items)) {
    const round = all.filter((i) => {
      const refused = highSRefusal(items[i]!);
      if (refused) results[i] = refused;
      return !refused;
    });
    if (round.length === 0) continue;
    const params = [
      round.map((i) => items[i]!.serial),
      round.map((i) => Buffer.from(items[i]!.prev, 'hex')),
      round.map((i) => buf(items[i]!.attestation)),
      round.map((i) => factsParam(items[i]!.facts)),
    ];
    const rows = (await c.query<{ ord: number; known: boolean; seq: number | null }>(APPEND, params)).rows;
    for (const r of rows) {
      const i = round[r.ord - 1]!;
      const serial = items[i]!.serial;
      if (r.seq !== null) {
        results[i] = { serial, ok: true };
        seqs[i] = r.seq;
      } else if (!r.known) results[i] = { serial, ok: false, code: 'ERR_DEVICE_UNKNOWN', message: `device ${serial} is not in ${location}` };
      else
        results[i] = {
          serial,
          ok: false,
          code: 'ERR_FORK',
          message: `device ${serial}: its chain no longer ends where this attestation extends it (a second transfer from the same point)`,
        };
    }
  }
  const byDevice = new Map<string, PgLogEntry[]>();
  items.forEach((item, i) => {
    const seq = seqs[i];
    if (seq === undefined) return;
    const list = byDevice.get(item.serial) ?? byDevice.set(item.serial, []).get(item.serial)!;
    list.push({ serial: item.serial, seq, der: item.attestation });
  });
  return { results, logged: [...byDevice.values()].flat() };
}

/**
 * Appends `items` in the transaction on `c` (as `appendPgRounds`), first taking what items ask for (append-claims.ts):
 * the challenges they spend, the LDevIDs they record. An item that cannot have them is refused, and an item refused
 * gives them back, so that each is taken in the same transaction as its record, or not at all.
 */
export async function appendPgAttestations(
  c: PoolClient,
  items: readonly AttestationAppend[],
  location: string,
): Promise<{ results: AppendResult[]; logged: PgLogEntry[] }> {
  if (!items.some((i) => i.challenge !== undefined || i.ldevid !== undefined)) return appendPgRounds(c, items, location);
  let logged: PgLogEntry[] = [];
  const results = await appendClaiming(
    items,
    [pgChallengeClaim(c), pgLDevIDClaim(c, location)],
    async (go) => {
      const r = await appendPgRounds(c, go, location);
      logged = r.logged;
      return r.results;
    },
    true,
  );
  return { results, logged };
}

/** The challenges an append spends in its transaction on `c`: marked used before, and open again for an item refused. */
function pgChallengeClaim(c: PoolClient): AppendClaim {
  return {
    take: async (item) => {
      if (item.challenge === undefined) return undefined;
      const state = await spendChallenge(c, item.challenge);
      return state === 'consumed' ? undefined : challengeRefusal(state);
    },
    giveBack: async (item) => {
      if (item.challenge !== undefined) await c.query('UPDATE challenges SET used_at = NULL WHERE nonce = $1', [item.challenge]);
    },
  };
}
