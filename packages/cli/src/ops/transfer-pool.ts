/**
 * Signing a large batch of transfers on worker threads. The main thread keeps the store (reading chain tips,
 * appending attestations, one writer); each worker holds a copy of the party's key and turns chain tips into
 * signed attestations. A batch then runs as a pipeline: the store's reads and writes of one chunk overlap the
 * signing of the next.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { AttestationSigner, ChainTip, Claims, SignedTransfer, TransferTemplate } from '@custody/core';
import { nodeKeyObject } from '@custody/core/node';

/** A transfer signed, or refused with a code (not the custodian, activated, ...). */
export type PoolOutcome = SignedTransfer | { code: string; message: string };

/** What every worker is started with (the key travels as a KeyObject, never as bytes). */
export interface PoolSetup {
  certificate: Uint8Array;
  template: { kind: TransferTemplate['kind']; to: string; claims?: Claims; stage?: string; now: number };
}

export interface PoolRequest {
  id: number;
  tips: ChainTip[];
}

/** Batches smaller than this sign on the main thread: starting a worker costs about what 500 signatures do. */
export const POOL_MIN_BATCH = 2048;

/**
 * Worker threads for a batch of `n` transfers: none for a small batch; else CUSTODY_THREADS when set, or one
 * per core beyond the main thread's.
 */
export function poolThreads(n: number, env: NodeJS.ProcessEnv = process.env): number {
  const set = env.CUSTODY_THREADS;
  if (set !== undefined && /^\d+$/.test(set)) return Number(set);
  if (n < POOL_MIN_BATCH) return 0;
  return Math.max(1, Math.min(4, availableParallelism() - 1));
}

export class TransferPool {
  readonly #workers: Worker[];
  readonly #pending = new Map<number, { resolve: (out: PoolOutcome[]) => void; reject: (e: unknown) => void }>();
  #next = 0;
  #failed: unknown;

  private constructor(workers: Worker[]) {
    this.#workers = workers;
    for (const w of workers) {
      w.on('message', ({ id, out }: { id: number; out: PoolOutcome[] }) => {
        this.#pending.get(id)?.resolve(out);
        this.#pending.delete(id);
      });
      w.on('error', (e) => this.#fail(e));
      w.on('exit', (code) => {
        if (code !== 0) this.#fail(new Error(`a signing worker stopped with exit code ${code}`));
      });
    }
  }

  /** Starts `threads` workers, each holding `signer`'s key, signing with the template's shared fields. */
  static create(signer: AttestationSigner, template: Omit<TransferTemplate, 'signer'>, threads: number): TransferPool {
    const setup: PoolSetup & { key: unknown } = {
      certificate: signer.certificate,
      key: nodeKeyObject(signer.key),
      template: { kind: template.kind, to: template.to, now: template.now.getTime(), ...(template.claims ? { claims: template.claims } : {}), ...(template.stage !== undefined ? { stage: template.stage } : {}) },
    };
    const url = new URL('./transfer-worker.js', import.meta.url);
    return new TransferPool(Array.from({ length: threads }, () => new Worker(url, { workerData: setup })));
  }

  #fail(e: unknown): void {
    this.#failed ??= e;
    for (const p of this.#pending.values()) p.reject(e);
    this.#pending.clear();
  }

  /** Signs the transfers of `tips` on the next worker; outcomes in the order of `tips`. */
  sign(tips: ChainTip[]): Promise<PoolOutcome[]> {
    if (this.#failed !== undefined) return Promise.reject(this.#failed);
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#workers[id % this.#workers.length]!.postMessage({ id, tips } satisfies PoolRequest);
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.#workers.map((w) => w.terminate()));
  }
}
