/**
 * Indexes of `items` in rounds: round k holds the k-th item of each serial, so that one round never extends a
 * device's chain twice (both stores append a batch of attestations round by round).
 */
export function roundsBySerial(items: ReadonlyArray<{ serial: string }>): number[][] {
  const rounds: number[][] = [];
  const seen = new Map<string, number>();
  items.forEach((item, i) => {
    const k = seen.get(item.serial) ?? 0;
    seen.set(item.serial, k + 1);
    (rounds[k] ??= []).push(i);
  });
  return rounds;
}
