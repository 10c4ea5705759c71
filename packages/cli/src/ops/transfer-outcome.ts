/** One device's transfer, signed or refused: shared by the handoff batch and its worker threads. */
import { headOfChain, type SignedTransfer, type Transfer } from '@custody/core/custody/chain';
import { CustodyError } from '@custody/core/errors';
import type { ChainTip } from '@custody/core/registry/ports';

/** A transfer signed, or refused with a code (not the custodian, activated, ...). */
export type TransferOutcome = SignedTransfer | { code: string; message: string };

/** Signs the transfers of chain tips in order; a refusal is an outcome, any other failure throws. */
export async function signOutcomes(transfer: Transfer, tips: readonly ChainTip[]): Promise<TransferOutcome[]> {
  const out: TransferOutcome[] = [];
  for (const tip of tips) out.push(await signOutcome(transfer, tip));
  return out;
}

async function signOutcome(transfer: Transfer, tip: ChainTip): Promise<TransferOutcome> {
  try {
    return transfer.sync ? transfer.signSync(headOfChain(tip)) : await transfer.sign(headOfChain(tip));
  } catch (e) {
    if (!(e instanceof CustodyError)) throw e;
    return { code: e.code, message: e.message };
  }
}
