import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedStore } from '../src/embedded-store.js';
import { FileCheckpointHistory } from '../src/checkpoint-history.js';
import { historyContract, note } from './checkpoint-history-contract.js';

const NOW = new Date('2026-01-01T00:00:00Z');
describe('checkpoint history (embedded file)', () => {
  let dir: string;
  let n = 0;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'custody-history-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  historyContract(async () => new FileCheckpointHistory(join(dir, `h${n++}.jsonl`)));

  it('survives a torn last line: skips it when searching, and starts the next record on a line of its own', async () => {
    const h = new FileCheckpointHistory(join(dir, 'torn.jsonl'));
    await h.recordCheckpoint(4, note(4));
    appendFileSync(h.file, '{"size":9,"note":"cut sh');
    assert.equal(await h.checkpointCovering(3), note(4));
    assert.equal(await h.checkpointCovering(4), undefined);
    await h.recordCheckpoint(9, note(9));
    assert.equal(await h.checkpointCovering(4), note(9));
    assert.equal(readFileSync(h.file, 'utf8').split('\n').length, 4);
  });

  it("is the file beside log/ of an embedded store, behind the store's own CheckpointHistory port", async () => {
    const store = await EmbeddedStore.init(join(dir, 'store'), NOW);
    try {
      await store.recordCheckpoint(1, note(1));
      assert.equal(await store.checkpointCovering(0), note(1));
      assert.equal(await new FileCheckpointHistory(join(dir, 'store', 'checkpoints.jsonl')).checkpointCovering(0), note(1));
    } finally {
      await store.close();
    }
  });
});
