/** Verification reports as lines a person reads (devices verify, devices activate, demo). */
import type { Store } from '@custody/store';
import type { BundleVerdict } from '@custody/app/verify';

/**
 * The verdict with who holds the device now (so that a chain cut short at an earlier custodian is seen even
 * when nobody said who should hold it), then every check.
 */
export function formatVerdict(v: BundleVerdict, names: ReadonlyMap<string, string> = new Map()): string[] {
  const r = v.report;
  let holder = '';
  if (r.custodian !== undefined) {
    const who = r.custodianParty ? `"${r.custodianParty.subject}"` : names.has(r.custodian) ? `"${names.get(r.custodian)}"` : 'a party not known here';
    const required = r.checks.some((c) => c.name === 'custodian');
    holder = `; held by ${who} (key ${r.custodian.slice(0, 16)}...)${required ? '' : ', not checked against an expected custodian (--as, --expected-custodian)'}`;
  }
  const lines = [`${r.device ?? v.file}: ${r.ok ? 'ACCEPTED' : `REJECTED (${r.code})`}${holder}`];
  for (const c of r.checks) lines.push(`  ${c.ok ? 'ok  ' : 'FAIL'} ${c.name}${c.reason ? `: ${c.reason}` : ''}${c.ok ? '' : ` [${c.code}]`}`);
  return lines;
}

/** Party names by SPKI hash from the store, to name custodians in reports. */
export async function partyNames(store: Store | undefined): Promise<Map<string, string>> {
  return new Map((store ? await store.listParties() : []).map((p) => [p.spkiSha256, p.name]));
}
