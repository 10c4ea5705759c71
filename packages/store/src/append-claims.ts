/**
 * What an append item takes besides its record, on both backends: a proof-of-possession challenge it spends
 * (`AttestationAppend.challenge`), an LDevID key and certificate serial it claims (`AttestationAppend.ldevid`).
 * Each is taken before the write (an item that cannot have it is refused and not written), and given back when
 * its item is refused or the write fails, so that a refused item leaves everything as it was: of two activations
 * racing for one challenge or one LDevID key, the loser records nothing.
 */
import type { AppendResult, AttestationAppend } from '@custody/core/ports';

/** Why an item cannot have what it takes. */
export interface ClaimRefusal {
  code: string;
  message: string;
}

/** One kind of thing append items take (call its methods with the writer lock held, or in the append's transaction). */
export interface AppendClaim {
  /** Takes what `item` asks for: undefined when it got it or asks for nothing of this kind, else the refusal. */
  take(item: AttestationAppend): ClaimRefusal | undefined | Promise<ClaimRefusal | undefined>;
  /** Gives back what `take` took for `item` (nothing when it took nothing). */
  giveBack(item: AttestationAppend): void | Promise<void>;
  /** Completes the claim of an item the append wrote (its record line, where the claim keeps one). */
  written?(item: AttestationAppend): void | Promise<void>;
}

/**
 * Appends `items` through `append`, each item first taking what `claims` ask of it, in order (the first refusal
 * refuses the item and gives back what the item took before it). When `append` throws, every claim taken is given
 * back, unless `rolledBack`: the write was one transaction whose rollback undoes the claims with it.
 * @throws what `append` or a claim throws (store failures)
 */
export async function appendClaiming(
  items: readonly AttestationAppend[],
  claims: readonly AppendClaim[],
  append: (go: readonly AttestationAppend[]) => Promise<AppendResult[]>,
  rolledBack = false,
): Promise<AppendResult[]> {
  const results: AppendResult[] = new Array(items.length);
  const go: number[] = [];
  const takenBy = new Map<number, AppendClaim[]>();
  const giveBackAll = async (indexes: Iterable<number>) => {
    for (const i of indexes) for (const c of takenBy.get(i) ?? []) await c.giveBack(items[i]!);
  };
  try {
    for (const [i, item] of items.entries()) {
      const taken: AppendClaim[] = [];
      takenBy.set(i, taken);
      let refusal: ClaimRefusal | undefined;
      for (const c of claims) {
        refusal = await c.take(item);
        if (refusal) break;
        taken.push(c);
      }
      if (!refusal) go.push(i);
      else {
        await giveBackAll([i]);
        takenBy.delete(i);
        results[i] = { serial: item.serial, ok: false, ...refusal };
      }
    }
  } catch (e) {
    if (!rolledBack) await giveBackAll(takenBy.keys());
    throw e;
  }
  let done: AppendResult[];
  try {
    done = await append(go.map((i) => items[i]!));
  } catch (e) {
    if (!rolledBack) await giveBackAll(go);
    throw e;
  }
  for (const [k, i] of go.entries()) {
    results[i] = done[k]!;
    for (const c of takenBy.get(i)!) await (done[k]!.ok ? c.written?.(items[i]!) : c.giveBack(items[i]!));
  }
  return results;
}
