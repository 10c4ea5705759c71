import { Args } from '@oclif/core';
import { BaseCommand } from '../../base-command.js';
import { formatInspection, inspectFile, type Inspection } from '@custody/app/inspect';

export default class CertsInspect extends BaseCommand {
  static override summary = 'Print a certificate, a certificate request (CSR), a CRL or a bundle in words (PEM, DER or bundle JSON).';
  static override examples = [
    '<%= config.bin %> certs inspect issued/AC000001.pem',
    '<%= config.bin %> certs inspect requests/AC000001.csr',
    '<%= config.bin %> certs inspect acme-issuing.crl',
    '<%= config.bin %> certs inspect AC000001.json',
  ];
  static override args = { file: Args.string({ description: 'a certificate, CSR, CRL or bundle file', required: true }) };

  async run(): Promise<Inspection> {
    const { args } = await this.parse(CertsInspect);
    const inspection = await inspectFile(args.file);
    for (const line of formatInspection(inspection)) this.log(line);
    return inspection;
  }
}
