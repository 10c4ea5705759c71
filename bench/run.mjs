#!/usr/bin/env node
/**
 * The benchmark: `npm run bench` prints a table, `-- --json` one JSON object (figure -> number), `-- --quick`
 * small sizes for CI. Native limits are measured in the same run, so each figure reads as a ratio to them.
 */
import { parseArgs } from 'node:util';
import { figures } from './figures.mjs';
import { poolThreads } from '@custody/app/worker-pool';

const { values } = parseArgs({ options: { json: { type: 'boolean' }, quick: { type: 'boolean' }, only: { type: 'string' } } });
const results = await figures({ quick: values.quick === true, only: values.only });
// parse.* (bench/parse.mjs): all of them in a full run; with --only, those whose name it starts (or `parse` itself).
if (!values.only || 'parse'.startsWith(values.only) || values.only.startsWith('parse')) {
  const parse = (await import('./parse.mjs')).parseFigures({ quick: values.quick === true });
  for (const [k, v] of Object.entries(parse)) if (!values.only || k.startsWith(values.only) || 'parse'.startsWith(values.only)) results[k] = v;
}
// code.* (bench/code.mjs): the device-side check of a 64 KiB script, against its native limit.
if (!values.only || 'code'.startsWith(values.only) || values.only.startsWith('code') || values.only.startsWith('native.code')) {
  Object.assign(results, await (await import('./code.mjs')).codeFigures({ quick: values.quick === true }));
  // code.policyCheckPerSec (bench/code-policy.mjs): the same check under an enrolled policy, scope chosen first.
  Object.assign(results, await (await import('./code-policy.mjs')).codePolicyFigures({ quick: values.quick === true }));
}

if (values.json) {
  process.stdout.write(JSON.stringify(results) + '\n');
} else {
  const ratios = {
    'provision.devicesPerSec': ['native.devicePerSec', 'target >= 0.50'],
    'provision.folderDevicesPerSec': [
      ['native.devicePerSec', 'target >= 0.50'],
      ['native.folderDevicePerSec', "(against the file system's limit in this run)"],
    ],
    'provision.generatedFolderDevicesPerSec': ['native.devicePerSec', ''],
    'issue.certsPerSec': ['native.signPerSec', ''],
    'handoff.perSec': ['native.signPerSec', 'target >= 0.40'],
    'handoff.firstBatchPerSec': ['native.signPerSec', ''],
    'verify.bundlesPerSec': ['native.bundlePerSec', 'target >= 0.50'],
    'verify.palletBundlesPerSec': ['native.bundlePerSecAllCores', 'target >= 0.50'],
    'verify.firstPalletBundlesPerSec': ['native.bundlePerSecAllCores', "(a process's first pallet: its threads start cold, as in a CLI run)"],
    'store.writeMsLarge': ['store.writeMsSmall', 'target <= 1.5'],
    'code.checkPerSec': ['native.codeCheckPerSec', ''],
    'code.policyCheckPerSec': ['native.codeCheckPerSec', ''],
    'cli.coldStartMs': ['node.coldStartMs', 'target <= 2.5'],
    'log.appendUsLarge': ['log.appendUsSmall', 'target <= 1.5'],
    'pg.provision.devicesPerSec': ['provision.devicesPerSec', 'target >= 0.60'],
    'pg.handoff.perSec': ['handoff.perSec', ''],
    'pg.store.writeMsLarge': ['pg.store.writeMsSmall', 'target <= 1.5'],
    'hsm.sessionSignPerSec': ['hsm.signPerSec', ''],
    'hsm.keySignPerSec': ['hsm.sessionSignPerSec', ''],
    'hsm.provision.devicesPerSec': ['hsm.devicePerSec', 'target >= 0.50'],
    'hsm.provision.firstBatchPerSec': ['hsm.devicePerSec', ''],
    'hsm.provision.unsignedDevicesPerSec': ['hsm.devicePerSec', 'ceiling for moving the token off this thread'],
    'hsm.twoThreadSignPerSec': ['hsm.keySignPerSec', 'above 1: sessions per thread sign side by side'],
    'firmware.verifyPerSec': ['native.firmwarePerSec', ''],
  };
  // A handoff batch of 10,000 signs on worker threads, as the CLI does: say how many.
  process.stdout.write(`(handoff batches: the main thread and ${poolThreads(10000)} signing worker thread(s); CUSTODY_THREADS=0 keeps one thread)\n`);
  if ((!values.only || 'hsm'.startsWith(values.only) || values.only.startsWith('hsm')) && !('hsm.signPerSec' in results))
    process.stdout.write('(hsm.*: skipped, no SoftHSM here; apt-get install softhsm2)\n');
  const w = Math.max(...Object.keys(results).map((k) => k.length));
  for (const [k, v] of Object.entries(results)) {
    // One ratio, or several (a figure read against its target's limit and against a narrower one).
    const specs = ratios[k] === undefined ? [] : Array.isArray(ratios[k][0]) ? ratios[k] : [ratios[k]];
    const ratio = specs
      .filter(([base]) => results[base])
      .map(([base, note]) => `  ${(v / results[base]).toFixed(2)}x ${base} ${note}`)
      .join(';');
    process.stdout.write(`${k.padEnd(w)}  ${String(Math.round(v * 100) / 100).padStart(10)}${ratio}\n`);
  }
}
