/** `devices handoff` and `devices activate`: extend chains, each device on its own. */
import { createTransfer, CustodyError, type AttestationAppend, type ChainTip, type Claims, type Transfer } from '@custody/core';
import type { LDevIDRecord } from '@custody/core/ports';
import { completeOutcomes, headsOf, prepareOutcomes, signOutcomes, toBeSigned, type Head, type TransferOutcome } from './transfer-outcome.js';
import { nodeKeyObject } from '@custody/core/node';
import { isExternalPrivateKey } from '@custody/core/crypto';
import type { KeyObject } from 'node:crypto';
import { poolThreads, WorkerPool } from './worker-pool.js';
import { runPipeline } from './pipeline.js';
import { interruptedError } from './interrupt.js';
import { phaseCounter, type BatchProgress } from './batch-progress.js';
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
    out.push(
      ...text
        .split(/\r?\n/)
        .map((l) => l.replace(/#.*/, '').trim())
        .filter(Boolean),
    );
  }
  if (out.length === 0) throw new CustodyError('ERR_USAGE_SELECTION', 'name the devices: --serial, --lot or --list');
  return [...new Set(out)];
}

/**
 * True for a selection that can name many devices (a lot, a list, more than one serial): what it writes goes into
 * a folder, whatever the number of devices it turns out to hold.
 */
export function selectsMany(sel: DeviceSelection): boolean {
  return sel.lot !== undefined || sel.list !== undefined || (sel.serials?.length ?? 0) > 1;
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
   * For one device only: the chain it must still have (`length` attestations, as verified before), and what the
   * attestation takes in the same store write (an activation): the proof-of-possession challenge it spends, the
   * LDevID it records (refused with the activation when its key is another device's).
   */
  extend?: { length: number; challenge?: string; ldevid?: LDevIDRecord };
  /** Aborted: a large batch stops at its next chunk boundary and throws ERR_INTERRUPTED (see interrupt.ts). */
  signal?: AbortSignal;
  /** Told how far the batch is: chain tips read, attestations signed, devices recorded (batch-progress.ts). */
  onProgress?: BatchProgress;
}

export interface TransferResult {
  party: string;
  to: string;
  /**
   * Each device's outcome. `already`: a handoff whose recipient holds the device already (a re-run): nothing
   * signed, `seq` is the attestation that handed it there.
   */
  results: Array<{ serial: string; ok: boolean; seq?: number; already?: boolean; code?: string; message?: string }>;
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

/** Devices per chunk: one store read and one commit (with its fdatasync) each. */
const CHUNK = 1024;
/** Devices per piece: a signing request to a worker, or what this thread signs between looks at the answers. */
const PIECE = 256;
/** Pieces queued on each worker, so that it never waits while this thread writes a chunk. */
const DEPTH = 6;
/** Chunks read ahead of their commit. */
const READ_AHEAD = 4;

/**
 * A chunk's plan, each head read once: the heads to sign (known devices in order, less those a handoff's
 * recipient holds already, `heldBy`: a re-run of the same handoff leaves them as they are) and which serials are
 * held already. A head that cannot be read is kept: signing refuses it.
 */
function planChunk(tips: Array<ChainTip | undefined>, heldBy: string | undefined): { heads: Head[]; held: boolean[]; tips: Array<ChainTip | undefined> } {
  const known = tips.filter((t): t is ChainTip => t !== undefined);
  const heads = headsOf(known);
  const held = tips.map(() => false);
  if (heldBy === undefined) return { heads, held, tips };
  const toSign: Head[] = [];
  let k = 0;
  tips.forEach((t, i) => {
    if (!t) return;
    const h = heads[k++]!;
    if (!('code' in h) && h.custodian === heldBy && !h.activated) held[i] = true;
    else toSign.push(h);
  });
  return { heads: toSign, held, tips };
}

/**
 * Signs and records one attestation per device; a device that fails does not stop the others. In a large
 * batch, worker threads (`startPool`, sign-worker.ts by default) make the signatures while this thread reads the
 * store, builds each attestation around its signature, and records it. When the workers fail, this thread signs
 * what they had not answered, and the result says so in `warnings`. A device its recipient holds already (a
 * re-run) is an ok result with `already`, nothing signed.
 * @throws ERR_INTERRUPTED when `signal` stopped a large batch at a chunk boundary (what it recorded stays)
 */
export async function transferDevices(store: Store, o: TransferOptions, startPool: typeof startSigningPool = startSigningPool): Promise<TransferResult> {
  const { party, signer } = await loadSigner(store, o.party, o.passphrase);
  const recipient = o.kind === 'activation' ? { spkiSha256: signer.spkiSha256, label: party.name } : await resolveRecipient(store, o.to ?? '');
  const template = {
    kind: o.kind,
    to: recipient.spkiSha256,
    now: o.now,
    ...(o.claims ? { claims: o.claims } : {}),
    ...(o.stage !== undefined ? { stage: o.stage } : {}),
  };
  // Shared fields checked here, before any worker starts: bad claims fail the batch once.
  const transfer = createTransfer({ ...template, signer });
  // A key in a token signs where its session is, on this thread; workers need a KeyObject to share.
  const threads = transfer.sync && !isExternalPrivateKey(signer.key) ? poolThreads(o.serials.length) : 0;
  // A handoff to whoever holds the device already is a re-run: nothing to sign (not a self-handoff).
  const heldBy = o.kind === 'handoff' && recipient.spkiSha256 !== signer.spkiSha256 ? recipient.spkiSha256 : undefined;
  if (o.extend) {
    if (o.serials.length !== 1) throw new TypeError('transferDevices: `extend` is for one device');
    const tips = await store.getTips(o.serials);
    const tip = tips[0];
    if (tip && tip.length !== o.extend.length) {
      const message = `device ${o.serials[0]}: its chain has ${tip.length} attestations, not the ${o.extend.length} just verified (it changed meanwhile)`;
      return { party: party.name, to: recipient.label, results: [{ serial: o.serials[0]!, ok: false, code: 'ERR_FORK', message }] };
    }
    const { heads, held } = planChunk(tips, undefined);
    return {
      party: party.name,
      to: recipient.label,
      results: await recordChunk(store, o.serials, tips, await signOutcomes(transfer, heads), held, undefined, appendTakes(o.extend)),
    };
  }
  const progress = {
    read: phaseCounter(o.onProgress, 'reading', o.serials.length),
    signed: phaseCounter(o.onProgress, 'signing', o.serials.length),
    recorded: phaseCounter(o.onProgress, 'committing', o.serials.length),
  };
  if (threads === 0) {
    const tips = await store.getTips(o.serials);
    progress.read(tips.length);
    const { heads, held } = planChunk(tips, heldBy);
    const outcomes = await signOutcomes(transfer, heads);
    progress.signed(o.serials.length);
    const results = await recordChunk(store, o.serials, tips, outcomes, held, heldBy);
    progress.recorded(o.serials.length);
    return { party: party.name, to: recipient.label, results };
  }
  const pool = startPool(nodeKeyObject(signer.key), threads);
  try {
    const { results, poolFailure, stopped } = await pipeline(store, o.serials, transfer, pool, threads, heldBy, o.signal, progress);
    if (stopped) {
      const recorded = results.filter((x) => x.ok).map((x) => x.serial);
      throw interruptedError({
        recorded,
        total: o.serials.length,
        resume: 'run the same command again to hand on the rest (devices the recipient holds already are skipped)',
      });
    }
    const result: TransferResult = { party: party.name, to: recipient.label, results };
    if (poolFailure)
      result.warnings = [
        `a signing worker failed (${poolFailure.e instanceof Error ? poolFailure.e.message : String(poolFailure.e)}); the main thread signed the devices the workers had not`,
      ];
    return result;
  } finally {
    await pool.close();
  }
}

/** A chunk of a handoff batch: its serials, their chain tips (undefined: not in the store), and which are held already. */
interface TransferChunk {
  serials: string[];
  tips: Array<ChainTip | undefined>;
  held: boolean[];
}

/**
 * The batch through the shared pipeline (pipeline.ts): each chunk's tips read together, signed in pieces on the
 * pool (this thread signs while it starts, and everything left once it fails), recorded together.
 */
async function pipeline(
  store: Store,
  serials: string[],
  transfer: Transfer,
  pool: SigningPool,
  threads: number,
  heldBy: string | undefined,
  signal: AbortSignal | undefined,
  progress: Record<'read' | 'signed' | 'recorded', (n?: number) => void>,
): Promise<{ results: TransferResult['results']; stopped: boolean; poolFailure?: { e: unknown } }> {
  const r = await runPipeline<string, TransferChunk, Head[], Uint8Array[], Uint8Array, TransferOutcome[], TransferResult['results']>(
    serials,
    {
      read: async (chunkSerials) => {
        const tips = await store.getTips(chunkSerials);
        progress.read(chunkSerials.length);
        const { heads, held } = planChunk(tips, heldBy);
        // Devices with nothing to sign (unknown, or held already) count as signed at once.
        progress.signed(chunkSerials.length - heads.length);
        const pieces: Head[][] = [];
        for (let k = 0; k < heads.length; k += PIECE) pieces.push(heads.slice(k, k + PIECE));
        return { chunk: { serials: chunkSerials, tips, held }, pieces };
      },
      prepare: (heads) => {
        const prepared = prepareOutcomes(transfer, heads);
        return {
          request: toBeSigned(prepared),
          complete: (signatures) => {
            progress.signed(heads.length);
            return completeOutcomes(prepared, signatures);
          },
        };
      },
      signHere: async (heads) => {
        const out = await signOutcomes(transfer, heads);
        progress.signed(heads.length);
        return out;
      },
      commit: async (c, out) => {
        const results = await recordChunk(store, c.serials, c.tips, out.flat(), c.held, heldBy);
        progress.recorded(c.serials.length);
        return results;
      },
    },
    { chunkSize: CHUNK, readAhead: READ_AHEAD, pool: { pool, threads, depth: DEPTH }, ...(signal ? { shouldStop: () => signal.aborted } : {}) },
  );
  return { results: r.results.flat(), stopped: r.stopped, ...(r.poolFailure ? { poolFailure: r.poolFailure } : {}) };
}

/** What an activation's append takes with its record: the challenge it spends, the LDevID it records. */
type AppendTakes = Pick<AttestationAppend, 'challenge' | 'ldevid'>;

/** The takes of an `extend`, or undefined when it takes nothing. */
function appendTakes(extend: NonNullable<TransferOptions['extend']>): AppendTakes | undefined {
  const t: AppendTakes = {};
  if (extend.challenge !== undefined) t.challenge = extend.challenge;
  if (extend.ldevid !== undefined) t.ldevid = extend.ldevid;
  return t.challenge === undefined && t.ldevid === undefined ? undefined : t;
}

/**
 * Appends a chunk's signed attestations and reports each device of it (`out` follows `planChunk`'s heads); a
 * one-device chunk may take a challenge and an LDevID with its record (`extra`).
 */
async function recordChunk(
  store: Store,
  serials: string[],
  tips: Array<ChainTip | undefined>,
  out: TransferOutcome[],
  held: readonly boolean[],
  heldBy: string | undefined,
  extra?: AppendTakes,
): Promise<TransferResult['results']> {
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
    if (held[i]) {
      results.push({ serial, ok: true, already: true, seq: tip.length - 1 });
      return;
    }
    const r = out[k++]!;
    if ('code' in r) {
      results.push({ serial, ok: false, code: r.code, message: r.message });
      return;
    }
    appends.push(
      extra === undefined
        ? { serial, prev: r.prev, attestation: r.der, facts: r.facts }
        : { serial, prev: r.prev, attestation: r.der, facts: r.facts, ...extra },
    );
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
  if (heldBy !== undefined) await settleForks(store, results, heldBy);
  return results;
}

/**
 * A device refused with ERR_FORK moved since its tip was read: after a writer was killed, the store may have
 * replayed that writer's last commit only on this append. When the move handed it to `heldBy`, the re-run it is
 * asked for is done already (ok, `already`); any other fork stays refused.
 */
async function settleForks(store: Store, results: TransferResult['results'], heldBy: string): Promise<void> {
  const forked = results.filter((r) => r.code === 'ERR_FORK');
  if (forked.length === 0) return;
  const now = planChunk(await store.getTips(forked.map((r) => r.serial)), heldBy);
  forked.forEach((r, i) => {
    if (!now.held[i]) return;
    const tip = now.tips[i]!;
    delete r.code;
    delete r.message;
    Object.assign(r, { ok: true, already: true, seq: tip.length - 1 });
  });
}

/** Throws for a transfer that failed: the only device's error, or a summary naming the failed count. */
export function failureOf(r: TransferResult): CustodyError | undefined {
  const failed = r.results.filter((x) => !x.ok);
  if (failed.length === 0) return undefined;
  if (r.results.length === 1) return new CustodyError(failed[0]!.code!, failed[0]!.message!);
  const codes = [...new Set(failed.map((f) => f.code))];
  const code = codes.length === 1 ? codes[0]! : 'ERR_CONFLICT_BATCH';
  return new CustodyError(
    code,
    `${failed.length} of ${r.results.length} devices failed (${failed
      .slice(0, 3)
      .map((f) => `${f.serial}: ${f.code}`)
      .join(', ')}${failed.length > 3 ? ', ...' : ''})`,
  );
}
