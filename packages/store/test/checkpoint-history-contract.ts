/** The behaviour every store backend's checkpoint history shares (embedded file, PostgreSQL table). */
import assert from 'node:assert/strict';
import type { CheckpointHistory } from '../src/checkpoint-history.js';

/** A stand-in note with the em dash of real signature lines (multi-byte in UTF-8: offsets are bytes). */
export const note = (size: number) => `custody.example/log\n${size}\nroot\ntimestamp 2026-01-01T00:00:00Z\n\n\u2014 custody.example/log sig-${size}\n`;

/** The behaviour every backend's history shares; `make` gives an empty one. */
export function historyContract(make: () => Promise<CheckpointHistory>): void {
  it('keeps only growth and finds the smallest kept tree holding a leaf', async () => {
    const h = await make();
    assert.equal(await h.checkpointCovering(0), undefined);
    for (const size of [3, 3, 2, 7, 5, 12]) await h.recordCheckpoint(size, note(size));
    const expect: Array<[number, number | undefined]> = [
      [0, 3],
      [2, 3],
      [3, 7],
      [6, 7],
      [7, 12],
      [11, 12],
      [12, undefined],
      [1000, undefined],
    ];
    for (const [leaf, size] of expect) assert.equal(await h.checkpointCovering(leaf), size === undefined ? undefined : note(size), `leaf ${leaf}`);
    assert.equal(await h.checkpointCovering(-1), undefined);
  });

  it('answers right across a long history', async function () {
    this.timeout(60_000);
    const h = await make();
    const sizes = Array.from({ length: 300 }, (_, i) => 5 + i * 7 + (i % 3));
    for (const s of sizes) await h.recordCheckpoint(s, note(s));
    for (let leaf = 0; leaf < sizes.at(-1)! + 3; leaf += 5) {
      const want = sizes.find((s) => s > leaf);
      assert.equal(await h.checkpointCovering(leaf), want === undefined ? undefined : note(want), `leaf ${leaf}`);
    }
  });
}
