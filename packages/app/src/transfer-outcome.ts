/** One device's transfer, signed or refused: the handoff batch's steps, on this thread or with a signing worker. */
import { headOfChain, type DeviceHead, type SignedTransfer, type Transfer } from '@custody/core';
import { CustodyError } from '@custody/core/errors';
import type { ChainTip } from '@custody/core/ports';

/** A refusal (not the custodian, activated, ...): a device's outcome, not the batch's failure. */
export interface Refusal {
  code: string;
  message: string;
}

/** A transfer signed, or refused. */
export type TransferOutcome = SignedTransfer | Refusal;

/** A transfer ready for its signature, or refused. */
export type PreparedTransfer = ReturnType<Transfer['prepare']> | Refusal;

/** A CustodyError as a device's refusal; anything else is rethrown (it fails the batch). */
function refusal(e: unknown): Refusal {
  if (!(e instanceof CustodyError)) throw e;
  return { code: e.code, message: e.message };
}

function refusable<T>(step: () => T): T | Refusal {
  try {
    return step();
  } catch (e) {
    return refusal(e);
  }
}

/** A chain's head, or why it cannot be read (a refusal). */
export type Head = DeviceHead | Refusal;

/** The heads of chain tips, read once: what the batch decides on and signs. */
export function headsOf(tips: readonly ChainTip[]): Head[] {
  return tips.map((tip) => refusable(() => headOfChain(tip)));
}

const isRefusal = (h: Head): h is Refusal => 'code' in h;

/** Signs the transfers of chain heads in order, on this thread. */
export async function signOutcomes(transfer: Transfer, heads: readonly Head[]): Promise<TransferOutcome[]> {
  if (transfer.sync) return heads.map((h) => (isRefusal(h) ? h : refusable(() => transfer.signSync(h))));
  const out: TransferOutcome[] = [];
  for (const h of heads) {
    if (isRefusal(h)) {
      out.push(h);
      continue;
    }
    try {
      out.push(await transfer.sign(h));
    } catch (e) {
      out.push(refusal(e));
    }
  }
  return out;
}

/** Everything but the signatures: a worker signs the `toBeSigned` of the prepared ones. */
export function prepareOutcomes(transfer: Transfer, heads: readonly Head[]): PreparedTransfer[] {
  return heads.map((h) => (isRefusal(h) ? h : refusable(() => transfer.prepare(h))));
}

/** The messages a worker signs for `prepared`, in order (refusals have none). */
export function toBeSigned(prepared: readonly PreparedTransfer[]): Uint8Array[] {
  return prepared.flatMap((p) => ('unsigned' in p ? [p.unsigned.toBeSigned] : []));
}

/** The outcomes, given the worker's signatures of `toBeSigned(prepared)` packed end to end. */
export function completeOutcomes(prepared: readonly PreparedTransfer[], signatures: Uint8Array): TransferOutcome[] {
  const count = prepared.filter((p) => 'unsigned' in p).length;
  const width = count === 0 ? 0 : signatures.length / count;
  let k = 0;
  return prepared.map((p) => {
    if (!('unsigned' in p)) return p;
    const signature = signatures.subarray(k * width, ++k * width);
    return { der: p.unsigned.complete(signature), prev: p.prev, facts: p.facts };
  });
}
