/** `custody monitor`: gather every chain this party can see and report anomalies. */
import { analyzeChains, decodePEM, parseCertificate, parseCRL, type Finding, type ObservedChain, type Revocation } from '@custody/core';
import type { Store } from '@custody/store';
import { provider, readCRLFile } from './context.js';
import { bundleFiles, readBundle, recordOfBundle } from './bundles.js';

export interface MonitorOptions {
  bundles: string[];
  crls: string[];
  now: Date;
  maxHoldDays?: number;
}

export interface MonitorReport {
  devices: number;
  sources: number;
  findings: Finding[];
}

/** Audits the store, bundles from elsewhere, the store's evidence of refused imports, and revocations. */
export async function runMonitor(store: Store, o: MonitorOptions): Promise<MonitorReport> {
  const chains: ObservedChain[] = [];
  for (const d of await store.listDevices())
    chains.push({ source: store.location, serial: d.serial, certificate: d.certificate, attestations: d.attestations });
  // Through the evidence port: a PostgreSQL store's evidence is a row, not a file to open.
  for (const e of await store.listEvidence())
    chains.push({ source: e.source, serial: e.serial, certificate: e.device.certificate, attestations: e.device.attestations });
  for (const path of o.bundles) {
    for (const file of bundleFiles(path)) {
      const record = await recordOfBundle(readBundle(file));
      chains.push({ source: file, serial: record.serial, certificate: record.certificate, attestations: record.attestations });
    }
  }
  const revocations: Revocation[] = [];
  for (const ca of await store.listCAs()) {
    const issuer = parseCertificate(decodePEM(ca.certificate, ['CERTIFICATE'])).subject;
    for (const r of await store.listRevocations(ca.name)) revocations.push({ serialHex: r.serialHex, issuer, revokedAt: new Date(r.revokedAt) });
  }
  for (const file of o.crls) {
    const crl = parseCRL(readCRLFile(file));
    const issuer = crl.issuer;
    for (const r of crl.revoked.values()) revocations.push({ serialHex: r.serialHex, issuer, revokedAt: r.revocationDate });
  }
  const findings = await analyzeChains({
    chains,
    revocations,
    now: o.now,
    provider,
    ...(o.maxHoldDays !== undefined ? { maxHoldSeconds: o.maxHoldDays * 86_400 } : {}),
  });
  return { devices: new Set(chains.map((c) => c.serial)).size, sources: new Set(chains.map((c) => c.source)).size, findings };
}
