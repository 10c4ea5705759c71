// Run by test/crash.test.ts in a fresh process after each kill: opens the store with the built packages
// (packages/store/dist, packages/core/dist), on either backend, and reports every discrepancy it finds.
//   node test/crash-check.mjs '<options as JSON>'
// Options:
//   location, keyDir      the store (a folder or a postgres:// URL) and its key folder
//   outs                  [{ out, lot }]: every certificate file in `out` must be recorded, byte for byte, in `lot`
//   lots                  lots whose devices must be whole (the lot being written, the lot handed off)
//   all                   check every device of the store instead (and that the log covers each attestation)
//   serials               devices that must be found (committed journal records)
//   chainsOf              lots whose chains to report: serial -> SHA-256 of each attestation
//   factory, integrator   party names: births are factory -> factory, a handoff is factory -> integrator
//   logFrom               the log size at the last check: the leaves from there on must each be the hash of the
//                         attestation they name, with an inclusion proof in the stored nodes that verifies
//   logCovers             a writer has run since the kill: every attestation checked must be logged
//   logLeaves             leaf indexes whose inclusion proofs to check (besides the newest leaf)
//   proveSerial           report this device's attestations (base64) and their leaf indexes
// Prints one JSON object. Problems are strings naming the device and what is wrong.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const dist = (p) => new URL(`../packages/${p}`, import.meta.url).href;
const { openStoreAt } = await import(dist('store/dist/open.js'));
const core = await import(dist('core/dist/index.js'));
const { parseAttestation, readCertificateInfo, merkleTreeHeadOfEntries, treeRoot, inclusionProof, verifyInclusion, leafHash } = core;

const o = JSON.parse(process.argv[2]);

/** fn over every item, `limit` at a time (a PostgreSQL store answers each read with a round trip). */
async function mapLimit(items, fn, limit = 32) {
  const out = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i], i);
      }
    }),
  );
  return out;
}
const sha256 = (b) => createHash('sha256').update(b).digest();
const hex = (b) => sha256(b).toString('hex');
const BIRTH = 'https://custody.dev/attestation/birth/v1';
const HANDOFF = 'https://custody.dev/attestation/handoff/v1';

const report = {
  released: 0,
  empty: [],
  missing: [],
  mismatched: [],
  notInLot: [],
  journalMissing: [],
  broken: [],
  checked: 0,
  count: 0,
  chains: {},
  log: undefined,
};
const s = await openStoreAt(o.location, { poolSize: 16, ...(o.keyDir ? { keyDir: o.keyDir } : {}) });
try {
  report.count = await s.countDevices();
  const spkiOf = async (name) => {
    const p = await s.getParty(name);
    if (!p) throw new Error(`no party ${name} in ${o.location}`);
    return p.spkiSha256;
  };
  const factory = await spkiOf(o.factory);
  const integrator = await spkiOf(o.integrator);

  // 1. Released certificates: each file in an out folder is a recorded device, same bytes, in its lot.
  for (const { out, lot } of o.outs ?? []) {
    const lotSerials = new Set(await s.listLot(lot));
    let files = [];
    try {
      files = readdirSync(out).filter((f) => f.endsWith('.pem') && !f.endsWith('.key.pem'));
    } catch {
      // No out folder: nothing was released.
    }
    const found = await mapLimit(files, (f) => s.getDevice(f.slice(0, -'.pem'.length)));
    for (const [k, f] of files.entries()) {
      const serial = f.slice(0, -'.pem'.length);
      const text = readFileSync(join(out, f), 'utf8');
      const device = found[k];
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
  }
  const serials = o.serials ?? [];
  (await mapLimit(serials, (serial) => s.getDevice(serial))).forEach((d, k) => d || report.journalMissing.push(serials[k]));

  // 2. Whole records: the certificate parses and matches its digests; the chain is birth (factory to factory),
  //    then at most one handoff (factory to integrator), seq 0..n-1, each prev the SHA-256 of the previous DER.
  /** Checks one device; returns its problems. */
  const checkDevice = (d) => {
    const bad = (what) => report.broken.push(`${d.serial}: ${what}`);
    let info;
    try {
      info = readCertificateInfo(d.certificate);
    } catch (e) {
      return bad(`certificate does not parse (${e.code ?? e.message})`);
    }
    if (hex(d.certificate) !== d.certSha256) bad('certSha256 is not the SHA-256 of the certificate');
    if (hex(info.spki) !== d.spkiSha256) bad('spkiSha256 is not the SHA-256 of the certificate key');
    if (info.serialHex !== d.certSerial) bad(`certSerial ${d.certSerial} is not the certificate's ${info.serialHex}`);
    if (d.attestations.length < 1) bad('no birth attestation');
    if (d.attestations.length > 2) bad(`${d.attestations.length} attestations: more than one handoff`);
    d.attestations.forEach((der, i) => {
      let a;
      try {
        a = parseAttestation(der);
      } catch (e) {
        return bad(`attestation ${i} does not parse (${e.code ?? e.message})`);
      }
      const p = a.statement.predicate;
      if (p.seq !== i) bad(`attestation ${i} has seq ${p.seq}`);
      const prev = i === 0 ? null : hex(d.attestations[i - 1]);
      if (p.prev !== prev) bad(`attestation ${i} has prev ${p.prev}, expected ${prev}`);
      if (a.statement.subject[0]?.digest.sha256 !== d.certSha256) bad(`attestation ${i} is about another certificate`);
      const [type, to] = i === 0 ? [BIRTH, factory] : [HANDOFF, integrator];
      if (a.statement.predicateType !== type) bad(`attestation ${i} is a ${a.statement.predicateType}, expected ${type}`);
      if (p.from !== factory || p.to !== to) bad(`attestation ${i} hands from ${p.from.slice(0, 8)} to ${p.to.slice(0, 8)}`);
    });
  };

  const devices = new Map();
  if (o.all) for (const d of await s.listDevices()) devices.set(d.serial, d);
  else
    for (const lot of o.lots ?? []) {
      const listed = await s.listLot(lot);
      (await mapLimit(listed, (serial) => s.getDevice(serial))).forEach((d, k) => {
        if (d) devices.set(listed[k], d);
        else report.broken.push(`${listed[k]}: listed in lot ${lot} but not found`);
      });
    }
  for (const d of devices.values()) checkDevice(d);
  report.checked = devices.size;

  for (const lot of o.chainsOf ?? []) {
    const chains = {};
    const listed = await s.listLot(lot);
    (await mapLimit(listed, (serial) => devices.get(serial) ?? s.getDevice(serial))).forEach((d, k) => (chains[listed[k]] = (d?.attestations ?? []).map(hex)));
    report.chains[lot] = chains;
  }

  // 3. The log (RFC 6962): each leaf added since the last check is an attestation a device holds, with an
  //    inclusion proof in the stored nodes that verifies against their root; with `all`, the root recomputed
  //    from every attestation in log order equals the root of the stored nodes.
  if (typeof s.logSize !== 'function') {
    // A store without a transparency log (the PostgreSQL store before it had one): nothing to verify.
    report.log = { skipped: 'this backend keeps no transparency log' };
  } else {
    const problems = [];
    const size = await s.logSize();
    const from = o.all ? size : Math.max(0, Math.min(o.logFrom ?? size, size));
    const proved = [...new Set([...Array.from({ length: size - from }, (_, k) => from + k), size - 1, ...(o.logLeaves ?? [])])].filter(
      (i) => i >= 0 && i < size,
    );
    // A PostgreSQL store fetches the nodes the root and these proofs read; the embedded one reads its files.
    await s.loadLogNodes(size, { leaves: proved });
    const nodes = s.logNodes();
    const root = treeRoot(nodes, size, sha256);
    const cache = new Map(devices);
    const deviceOf = async (serial) => {
      if (!cache.has(serial)) cache.set(serial, await s.getDevice(serial));
      return cache.get(serial);
    };
    const leaves = new Map();
    const leafAt = async (i) => {
      if (!leaves.has(i)) leaves.set(i, await s.logLeaf(i));
      return leaves.get(i);
    };
    /** The attestation leaf i names. */
    const leafAttestation = async (i) => {
      const leaf = await leafAt(i);
      const att = leaf && (await deviceOf(leaf.serial))?.attestations[leaf.seq];
      if (!att) problems.push(`leaf ${i} (${leaf ? `${leaf.serial} attestation ${leaf.seq}` : 'no record'}) is not an attestation the store holds`);
      return att;
    };
    if (o.all) {
      const entries = [];
      const seen = new Set();
      const all = Array.from({ length: size }, (_, i) => i);
      await mapLimit(all, leafAt);
      for (const i of all) {
        const leaf = leaves.get(i);
        const key = leaf && `${leaf.serial}/${leaf.seq}`;
        if (key && seen.has(key)) problems.push(`leaf ${i}: ${key} is logged twice`);
        seen.add(key);
      }
      await mapLimit([...new Set([...leaves.values()].filter(Boolean).map((l) => l.serial))], deviceOf);
      for (const i of all) entries.push((await leafAttestation(i)) ?? new Uint8Array(0));
      if (!Buffer.from(merkleTreeHeadOfEntries(entries, sha256)).equals(Buffer.from(root)))
        problems.push(`the root of the stored nodes (size ${size}) is not the root of the attestations in log order`);
      let attestations = 0;
      for (const d of devices.values()) attestations += d.attestations.length;
      if (o.logCovers && attestations !== size) problems.push(`${attestations} attestations recorded but ${size} leaves logged`);
    }
    await mapLimit(proved, leafAt);
    for (const i of proved) {
      try {
        const att = await leafAttestation(i);
        if (att) verifyInclusion(leafHash(att, sha256), inclusionProof(nodes, i, size, sha256), root, sha256);
      } catch (e) {
        problems.push(`inclusion proof of leaf ${i} in ${size}: ${e.code ?? ''} ${e.message}`);
      }
    }
    // Every attestation of the devices checked is logged where the device says. A reader that opens the store
    // right after a crash may see a committed record whose leaves only the next writer appends (`unlogged`,
    // counted); after a write (`logCovers`) there must be none.
    // With `all`, the leaves already are the attestations, one each: their count equals the log size above.
    let unlogged = 0;
    const wanted = o.all ? [] : [...devices.values()].flatMap((d) => d.attestations.map((_, seq) => ({ serial: d.serial, seq })));
    await mapLimit(wanted, async ({ serial, seq }) => {
      const idx = await s.logLeafIndex(serial, seq);
      const leaf = idx !== undefined && idx < size ? await leafAt(idx) : undefined;
      if (leaf?.serial === serial && leaf.seq === seq) return;
      if (idx !== undefined && idx >= size && !o.logCovers) unlogged++;
      else problems.push(`${serial} attestation ${seq} is not logged (leaf ${idx}, size ${size})`);
    });
    report.log = { size, root: Buffer.from(root).toString('base64'), problems, unlogged };
    if (o.proveSerial) {
      const d = await s.getDevice(o.proveSerial);
      report.prove = { attestations: (d?.attestations ?? []).map((a) => Buffer.from(a).toString('base64')), leafIndexes: [] };
      for (let seq = 0; seq < (d?.attestations.length ?? 0); seq++) report.prove.leafIndexes.push(await s.logLeafIndex(o.proveSerial, seq));
    }
  }
} finally {
  await s.close();
}
process.stdout.write(JSON.stringify(report) + '\n');
