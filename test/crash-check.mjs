// Run by test/crash.test.ts in a fresh process: opens the store with the built EmbeddedStore
// (packages/store/dist) and checks that every certificate file in the out folder is recorded.
//   node test/crash-check.mjs <store> <out> <lot> [<serial>...]
// Prints one JSON object: what was checked and every discrepancy found.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const { EmbeddedStore } = await import(new URL('../packages/store/dist/embedded-store.js', import.meta.url).href);
const [store, out, lot, ...serials] = process.argv.slice(2);
const s = await EmbeddedStore.open(store);
const report = { released: 0, empty: [], missing: [], mismatched: [], notInLot: [], journalMissing: [], count: await s.countDevices() };
const lotSerials = new Set(await s.listLot(lot));
let files = [];
try {
  files = readdirSync(out).filter((f) => f.endsWith('.pem') && !f.endsWith('.key.pem'));
} catch {
  // No out folder: nothing was released.
}
for (const f of files) {
  const serial = f.slice(0, -'.pem'.length);
  const text = readFileSync(join(out, f), 'utf8');
  const device = await s.getDevice(serial);
  if (!device) {
    report.missing.push(serial);
    continue;
  }
  if (!lotSerials.has(serial)) report.notInLot.push(serial);
  if (text.length === 0) {
    // Killed between creating the file and writing it: the device was recorded before (checked above).
    report.empty.push(serial);
    continue;
  }
  report.released++;
  const b64 = text.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
  if (!Buffer.from(b64, 'base64').equals(Buffer.from(device.certificate)) || !text.endsWith('-----END CERTIFICATE-----\n')) report.mismatched.push(serial);
}
for (const serial of serials) if (!(await s.getDevice(serial))) report.journalMissing.push(serial);
await s.close();
process.stdout.write(JSON.stringify(report) + '\n');
