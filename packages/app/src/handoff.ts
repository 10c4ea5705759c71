/** `devices handoff` and `devices activate`: extend chains, each device on its own. */
import { createTransfer, CustodyError, type AttestationAppend, type ChainTip, type Claims, type Transfer } from '@custody/core';
import { completeOutcomes, prepareOutcomes, signOutcomes, toBeSigned, type TransferOutcome } from './transfer-outcome.js';
import { nodeKeyObject } from '@custody/core/node';
import { isExternalPrivateKey } from '@custody/core/crypto/provider';
import type { KeyObject } from 'node:crypto';
import { poolThreads, WorkerPool } from './worker-pool.js';
import type { Store } from '@custody/store';
import { readInputFile } from './context.js';
import { loadSigner, resolveRecipient } from './parties.js';

export interface DeviceSelection {
  serials?: string[];
  lot?: string;
  /** A file with one serial a line (# comments and blank lines ignored). */
  list?: string;
}

/**
 * The serials a selection names, in order, without repeats.
 * @throws ERR_USAGE_SELECTION when it names none; ERR_INPUT_READ for an unreadable list
 */
export async function selectDevices(store: Store, sel: DeviceSelection): Promise<string[]> {
  const out: string[] = [...(sel.serials ?? [])];
  if (sel.lot !== undefined) {
    const lot = await store.listLot(sel.lot);
    if (lot.length === 0) throw new CustodyError('ERR_USAGE_SELECTION', `lot "${sel.lot}" has no devices in ${store.location}`);
    out.push(...lot);
  }
  if (sel.list !== undefined) {
    const text = readInputFile(sel.list, 'list').toString('utf8');
    out.push(...text.split(/\r?\n/).map((l) => l.replace(/#.*/, '').trim()).filter(Boolean));
  }
  if (out.length === 0) throw new CustodyError('ERR_USAGE_SELECTION', 'name the devices: --serial, --lot or --list');
  return [...new Set(out)];
}

export interface TransferOptions {
  kind: 'handoff' | 'activation';
  serials: string[];
  party?: string;
  /** Next custodian (certificate file or party name); an activation names the activating party itself. */
  to?: string;
  claims?: Claims;
  stage?: string;
  passphrase: string | undefined;
  now: Date;
  /**
   * For one device only: the chain it must still have (`length` attestations, as verified before) and the
   * proof-of-possession challenge the attestation spends, in the same store write (an activation).
   */
  extend?: { length: number; challenge?: string };
}

export interface TransferResult {
  party: string;
  to: string;
  results: Array<{ serial: string; ok: boolean; seq?: number; code?: string; message?: string }>;
  /** What the operator should know although every device has its result (a signing worker that failed). */
  warnings?: string[];
}

/** Signing threads for a batch: each request (messages) answered with their P1363 signatures packed end to end. */
export interface SigningPool {
  run(messages: Uint8Array[]): Promise<Uint8Array>;
  close(): Promise<void>;
}

/** Starts `threads` signing workers (sign-worker.ts) holding `key`. */
export function startSigningPool(key: KeyObject, threads: number): SigningPool {
  return new WorkerPool<Uint8Array[], Uint8Array>(new URL('./sign-worker.js', import.meta.url), { key }, threads);
}


/** A chunk of a pipelined batch: read from the store together, signed in pieces, recorded together. */
interface Chunk {
  at: number;
  serials: string[];
  tips: Array<ChainTip | undefined>;
  /** The outcomes of each piece, as they come in. */
  out: TransferOutcome[][];
  missing: number;
}

interface Piece {
  chunk: Chunk;
  k: number;
  tips: ChainTip[];
}

/** Devices per chunk: one store read and one commit (with its fdatasync) each. */
const CHUNK = 1024;
/** Devices per piece: a signing request to a worker, or what this thread signs between looks at the answers. */
const PIECE = 256;
/** Pieces queued on each worker, so that it never waits while this thread writes a chunk. */
const DEPTH = 6;
/** Chunks read ahead of their commit. */
const READ_AHEAD = 4;

const known = (tips: Array<ChainTip | undefined>) => tips.filter((t): t is ChainTip => t !== undefined);

/**
 * Signs and records one attestation per device; a device that fails does not stop the others. In a large
 * batch, worker threads (`startPool`, sign-worker.ts by default) make the signatures while this thread reads the
 * store, builds each attestation around its signature, and records it. When the workers fail, this thread signs
 * what they had not answered, and the result says so in `warnings`.
 */
export async function transferDevices(store: Store, o: TransferOptions, startPool: typeof startSigningPool = startSigningPool): Promise<TransferResult> {
  const { party, signer } = await loadSigner(store, o.party, o.passphrase);
  const recipient = o.kind === 'activation' ? { spkiSha256: signer.spkiSha256, label: party.name } : await resolveRecipient(store, o.to ?? '');
  const template = { kind: o.kind, to: recipient.spkiSha256, now: o.now, ...(o.claims ? { claims: o.claims } : {}), ...(o.stage !== undefined ? { stage: o.stage } : {}) };
  // Shared fields checked here, before any worker starts: bad claims fail the batch once.
  const transfer = createTransfer({ ...template, signer });
  // A key in a token signs where its session is, on this thread; workers need a KeyObject to share.
  const threads = transfer.sync && !isExternalPrivateKey(signer.key) ? poolThreads(o.serials.length) : 0;
  if (o.extend) {
    if (o.serials.length !== 1) throw new TypeError('transferDevices: `extend` is for one device');
    const tips = await store.getTips(o.serials);
    const tip = tips[0];
    if (tip && tip.length !== o.extend.length) {
      const message = `device ${o.serials[0]}: its chain has ${tip.length} attestations, not the ${o.extend.length} just verified (it changed meanwhile)`;
      return { party: party.name, to: recipient.label, results: [{ serial: o.serials[0]!, ok: false, code: 'ERR_FORK', message }] };
    }
    return { party: party.name, to: recipient.label, results: await recordChunk(store, o.serials, tips, await signOutcomes(transfer, known(tips)), o.extend.challenge) };
  }
  if (threads === 0) {
    const tips = await store.getTips(o.serials);
    return { party: party.name, to: recipient.label, results: await recordChunk(store, o.serials, tips, await signOutcomes(transfer, known(tips))) };
  }
  const pool = startPool(nodeKeyObject(signer.key), threads);
  try {
    const { results, poolFailure } = await pipeline(store, o.serials, transfer, pool, threads);
    const result: TransferResult = { party: party.name, to: recipient.label, results };
    if (poolFailure) result.warnings = [`a signing worker failed (${poolFailure.e instanceof Error ? poolFailure.e.message : String(poolFailure.e)}); the main thread signed the devices the workers had not`];
    return result;
  } finally {
    await pool.close();
  }
}

/**
 * The batch in chunks: this thread reads each chunk's tips, prepares the pieces and keeps every worker `DEPTH`
 * pieces ahead, signs queued pieces itself until the first answer, and records each chunk once all its pieces
 * are in (in any order: each device stands alone). Once the pool fails, this thread signs every piece left,
 * those the pool had not answered included; `poolFailure` holds why.
 */
async function pipeline(store: Store, serials: string[], transfer: Transfer, pool: SigningPool, threads: number): Promise<{ results: TransferResult['results']; poolFailure?: { e: unknown } }> {
  const recorded: Array<TransferResult['results']> = [];
  const open: Chunk[] = [];
  const queue: Piece[] = [];
  let read = 0;
  let chunks = 0;
  let outstanding = 0;
  /** Pieces the workers have answered: none yet while they start. */
  let answered = 0;
  let failure: { e: unknown } | undefined;
  let poolFailure: { e: unknown } | undefined;
  let wake: (() => void) | undefined;
  // One chunk is recorded at a time (the store's lock): while its journal flushes, this thread goes on.
  let recording: Promise<void> | undefined;
  const arrive = (p: Piece, out: TransferOutcome[]) => {
    p.chunk.out[p.k] = out;
    p.chunk.missing -= 1;
  };
  try {
    while (read < serials.length || open.length > 0) {
      if (failure) throw failure.e;
      const done = open.find((x) => x.missing === 0);
      if (done && !recording) {
        open.splice(open.indexOf(done), 1);
        recording = recordChunk(store, done.serials, done.tips, done.out.flat())
          .then((r) => void (recorded[done.at] = r))
          .catch((e: unknown) => void (failure ??= { e }))
          .finally(() => {
            recording = undefined;
            wake?.();
          });
      }
      while (!poolFailure && queue.length > 0 && outstanding < threads * DEPTH) {
        const p = queue.shift()!;
        const prepared = prepareOutcomes(transfer, p.tips);
        outstanding += 1;
        pool
          .run(toBeSigned(prepared))
          .then(
            (signatures) => {
              answered += 1;
              arrive(p, completeOutcomes(prepared, signatures));
            },
            // The piece goes back to the queue, for this thread to sign.
            (e: unknown) => {
              poolFailure ??= { e };
              queue.push(p);
            },
          )
          .catch((e: unknown) => void (failure ??= { e }))
          .finally(() => {
            outstanding -= 1;
            wake?.();
          });
      }
      // Read ahead whenever the queue runs dry, so that the workers always have pieces to sign.
      if (queue.length === 0 && read < serials.length && open.length < READ_AHEAD) {
        const chunkSerials = serials.slice(read, (read += CHUNK));
        const tips = await store.getTips(chunkSerials);
        const ok = known(tips);
        const chunk: Chunk = { at: chunks++, serials: chunkSerials, tips, out: [], missing: Math.ceil(ok.length / PIECE) };
        open.push(chunk);
        for (let k = 0; k * PIECE < ok.length; k++) queue.push({ chunk, k, tips: ok.slice(k * PIECE, (k + 1) * PIECE) });
        continue;
      }
      if (open.some((x) => x.missing === 0) && !recording) continue;
      if (queue.length > 0 && (poolFailure || answered === 0)) {
        // The workers are still starting (about as long as 2,000 signatures take) and each holds DEPTH pieces:
        // sign a queued piece here, from the back (they take from the front), then let answers in. Only then:
        // once a worker answers, this thread's share of each device (reading, preparing, completing,
        // recording) costs more than the worker's signature, so a signature made here is time taken from the
        // slower side. Or the pool failed, and this thread signs the rest.
        const p = queue.pop()!;
        arrive(p, await signOutcomes(transfer, p.tips));
        await new Promise<void>((resolve) => setImmediate(resolve));
      } else if (outstanding > 0 || recording) await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    // A chunk being recorded finishes first, whatever stopped the loop: its journal append is under way.
    await recording;
  }
  if (failure) throw failure.e;
  return { results: recorded.flat(), ...(poolFailure ? { poolFailure } : {}) };
}

/**
 * Appends a chunk's signed attestations and reports each device of it (`out` follows the known tips); a one-device
 * chunk may spend a challenge with its record.
 */
async function recordChunk(store: Store, serials: string[], tips: Array<ChainTip | undefined>, out: TransferOutcome[], challenge?: string): Promise<TransferResult['results']> {
  const results: TransferResult['results'] = [];
  const appends: AttestationAppend[] = [];
  const seqs = new Map<string, number>();
  let k = 0;
  serials.forEach((serial, i) => {
    const tip = tips[i];
    if (!tip) {
      results.push({ serial, ok: false, code: 'ERR_DEVICE_UNKNOWN', message: `device ${serial} is not in ${store.location}` });
      return;
    }
    const r = out[k++]!;
    if ('code' in r) {
      results.push({ serial, ok: false, code: r.code, message: r.message });
      return;
    }
    appends.push(challenge === undefined ? { serial, prev: r.prev, attestation: r.der, facts: r.facts } : { serial, prev: r.prev, attestation: r.der, facts: r.facts, challenge });
    seqs.set(serial, tip.length);
    results.push({ serial, ok: true });
  });
  const stored = new Map((await store.appendAttestations(appends)).map((r) => [r.serial, r]));
  // A callback, not a loop of this async function's own: such a loop makes the optimizing compiler build the
  // whole function (about 25 ms a batch on the threads the signing worker needs).
  results.forEach((r) => {
    const s = stored.get(r.serial);
    if (!r.ok || !s) return;
    if (s.ok) r.seq = seqs.get(r.serial)!;
    else Object.assign(r, { ok: false, code: s.code, message: s.message });
  });
  return results;
}

/** Throws for a transfer that failed: the only device's error, or a summary naming the failed count. */
export function failureOf(r: TransferResult): CustodyError | undefined {
  const failed = r.results.filter((x) => !x.ok);
  if (failed.length === 0) return undefined;
  if (r.results.length === 1) return new CustodyError(failed[0]!.code!, failed[0]!.message!);
  const codes = [...new Set(failed.map((f) => f.code))];
  const code = codes.length === 1 ? codes[0]! : 'ERR_CONFLICT_BATCH';
  return new CustodyError(code, `${failed.length} of ${r.results.length} devices failed (${failed.slice(0, 3).map((f) => `${f.serial}: ${f.code}`).join(', ')}${failed.length > 3 ? ', ...' : ''})`);
}
