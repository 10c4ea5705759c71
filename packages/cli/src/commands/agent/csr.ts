import { BaseCommand } from '../../base-command.js';
import { oclifFlags } from '../../flags.js';
import { readPassphrase } from '@custody/app/context';
import { readDevicePassphrase } from '@custody/app/device-keys';
import { writeDeviceCSR, type DeviceCSR } from '@custody/app/agent';

export default class AgentCsr extends BaseCommand {
  static override summary = "The reference device side: the IDevID request (CSR) for the device's key, signed by it, for the factory line.";
  static override examples = [
    "<%= config.bin %> agent csr --key 'pkcs11:token=device;object=idevid?pin-source=file:/run/pin' --serial ACME-000001 --out ACME-000001.csr",
  ];

  static override flags = oclifFlags({
    key: { type: 'string', description: "the device's key: a pkcs11: URI (a key in a token, such as a TPM), or a PKCS#8 PEM file", required: true },
    serial: { type: 'string', description: "the device's serial, the request's subject serialNumber", required: true },
    out: { type: 'string', description: 'request file to write (PEM)', required: true },
    force: { type: 'boolean', description: 'replace the file at --out', default: false },
    'passphrase-file': { type: 'string', description: 'for a key file: its passphrase (else CUSTODY_DEVICE_PASSPHRASE, else CUSTODY_PASSPHRASE)' },
  });

  async run(): Promise<DeviceCSR> {
    const { flags } = await this.parse(AgentCsr);
    const r = await writeDeviceCSR({
      key: flags.key,
      serial: flags.serial,
      out: flags.out,
      force: flags.force,
      passphrase: readDevicePassphrase(flags['passphrase-file']) ?? readPassphrase(undefined),
    });
    this.log(`request for ${r.serial} written to ${r.file} (key SHA-256 ${r.spkiSha256})`);
    return r;
  }
}
