/** `devices provision` rendered: its lines of text, and its --json data (files as paths in `*File` fields). */
import type { ProvisionResult } from '@custody/app/provision';

/** What provisioning reports under --json: files as paths in `*File` fields. Station mode reports a count. */
export type ProvisionData =
  | {
      ca: string;
      attestedBy?: string;
      devices: Array<{
        serial: string;
        certSerial: string;
        csrFile?: string;
        generated: boolean;
        certificateFile?: string;
        keyFile?: string;
        attested: boolean;
      }>;
      /** Devices an earlier run already issued to the same key: skipped, not issued again. */
      alreadyIssued?: Array<{ serial: string; certSerial: string; csrFile?: string }>;
    }
  | { issued: number };

/** The lines a provisioning run prints. */
export function provisionLines(result: ProvisionResult, out: string | undefined): string[] {
  const by = result.attestedBy ? `, birth attested by "${result.attestedBy}"` : ', without birth attestations (no party)';
  const lines = [`issued ${result.devices.length} device certificate(s) under "${result.ca}"${out ? ` into ${out}` : ''}${by}`];
  const again = result.alreadyIssued;
  if (again) {
    const some = again
      .slice(0, 3)
      .map((d) => d.serial)
      .join(', ');
    lines.push(`${again.length} already issued to the same key by an earlier run, skipped: ${some}${again.length > 3 ? ', ...' : ''}`);
  }
  return lines;
}

/** The --json data of a provisioning run. */
export function provisionData(result: ProvisionResult, generated: boolean): ProvisionData {
  const source = (d: { source: string }) => (generated ? {} : { csrFile: d.source });
  return {
    ca: result.ca,
    ...(result.attestedBy ? { attestedBy: result.attestedBy } : {}),
    devices: result.devices.map((d) => ({
      serial: d.serial,
      certSerial: d.certSerial,
      ...source(d),
      generated,
      ...(d.certificate ? { certificateFile: d.certificate } : {}),
      ...(d.key ? { keyFile: d.key } : {}),
      attested: d.attested,
    })),
    ...(result.alreadyIssued ? { alreadyIssued: result.alreadyIssued.map((d) => ({ serial: d.serial, certSerial: d.certSerial, ...source(d) })) } : {}),
  };
}
