/** Template files: YAML text to a validated `CertificateTemplate` (kept apart so that issuing never loads YAML). */
import { CustodyError } from '../errors.js';
import { NAME_ATTRIBUTES } from '../x509/name.js';
import { checkFields, parseLocatedYAML, type FieldSpec } from './schema.js';
import { EKU_NAMES, KEY_USAGES, TEMPLATE_KINDS, TEMPLATE_VARIABLES, type CertificateTemplate, type KeyUsageName, type TemplateKind } from './template.js';

const DOTTED_OID = /^[0-2](\.(0|[1-9][0-9]*))+$/;
const VARIABLE_USE = new RegExp(`^([^{}]|\\{(${TEMPLATE_VARIABLES.join('|')})\\})*$`);

const SPEC: FieldSpec = {
  type: 'object',
  fields: {
    name: { type: 'string', required: true, pattern: /^[a-z0-9][a-z0-9-]{0,63}$/, hint: 'a lower-case name of letters, digits and dashes' },
    kind: { type: 'string', required: true, enum: TEMPLATE_KINDS },
    description: { type: 'string' },
    keyAlgorithm: { type: 'string', enum: ['P-256', 'P-384'] },
    subject: {
      type: 'map',
      required: true,
      keys: Object.keys(NAME_ATTRIBUTES),
      values: { type: 'string', pattern: VARIABLE_USE, hint: `text with variables among {${TEMPLATE_VARIABLES.join('}, {')}}` },
    },
    validity: {
      type: 'object',
      required: true,
      fields: { days: { type: 'integer', min: 1, max: 36500 }, noExpiry: { type: 'boolean' } },
    },
    basicConstraints: {
      type: 'object',
      fields: { ca: { type: 'boolean', required: true }, pathLen: { type: 'integer', min: 0, max: 16 }, critical: { type: 'boolean' } },
    },
    keyUsage: {
      type: 'object',
      fields: { usages: { type: 'list', required: true, minItems: 1, of: { type: 'string', enum: KEY_USAGES } }, critical: { type: 'boolean' } },
    },
    extendedKeyUsage: {
      type: 'object',
      fields: {
        usages: {
          type: 'list',
          required: true,
          minItems: 1,
          of: {
            type: 'string',
            pattern: new RegExp(`^(${Object.keys(EKU_NAMES).join('|')}|${DOTTED_OID.source.slice(1, -1)})$`),
            hint: `one of ${Object.keys(EKU_NAMES).join(', ')} or a dotted OID`,
          },
        },
        critical: { type: 'boolean' },
      },
    },
    subjectKeyIdentifier: { type: 'boolean' },
    keyIdentifierMethod: { type: 'string', enum: ['sha256', 'sha1'] },
    authorityKeyIdentifier: { type: 'boolean' },
    hardwareModuleName: { type: 'object', fields: { hwType: { type: 'string', required: true, pattern: DOTTED_OID, hint: 'a dotted OID' } } },
  },
};

function invalid(fileName: string, message: string): CustodyError {
  return new CustodyError('ERR_TEMPLATE_INVALID', `${fileName}: ${message}`, { file: fileName });
}

/**
 * Parses and validates a template file's text.
 * @throws ERR_TEMPLATE_INVALID naming the file, line and field
 */
export function parseTemplate(text: string, fileName: string): CertificateTemplate {
  const doc = parseLocatedYAML(text, fileName, 'ERR_TEMPLATE_INVALID');
  checkFields(doc, SPEC, fileName, 'ERR_TEMPLATE_INVALID');
  const raw = doc.value as Record<string, any>;
  const validity = raw.validity as { days?: number; noExpiry?: boolean };
  if ((validity.days === undefined) === (validity.noExpiry !== true)) throw invalid(fileName, 'validity: give exactly one of "days" or "noExpiry: true"');
  const kind = raw.kind as TemplateKind;
  const bc = raw.basicConstraints as { ca: boolean; pathLen?: number; critical?: boolean } | undefined;
  const isCA = kind === 'root-ca' || kind === 'issuing-ca';
  if (isCA && !bc?.ca) throw invalid(fileName, `basicConstraints.ca must be true for a ${kind} template`);
  if (!isCA && bc?.ca) throw invalid(fileName, `basicConstraints.ca must be false for a ${kind} template`);
  if (bc && !bc.ca && bc.pathLen !== undefined) throw invalid(fileName, 'basicConstraints.pathLen is only allowed when ca is true');
  if (bc?.critical === false && bc.ca) throw invalid(fileName, 'basicConstraints must be critical in a CA certificate (RFC 5280 4.2.1.9)');
  const ku = raw.keyUsage as { usages: KeyUsageName[]; critical?: boolean } | undefined;
  if (isCA && !ku?.usages.includes('keyCertSign')) throw invalid(fileName, 'keyUsage.usages must include keyCertSign for a CA');
  if (raw.hardwareModuleName && kind !== 'idevid' && kind !== 'ldevid') throw invalid(fileName, 'hardwareModuleName is only for idevid and ldevid templates');
  const subject = Object.entries(raw.subject as Record<string, string>);
  if (subject.length === 0) throw invalid(fileName, 'subject: needs at least one attribute');
  if (kind === 'idevid' && !subject.some(([k, v]) => k === 'serialNumber' && v.includes('{serial}'))) {
    throw invalid(fileName, 'subject.serialNumber must carry {serial} in an idevid template (IEEE 802.1AR)');
  }
  const eku = raw.extendedKeyUsage as { usages: string[]; critical?: boolean } | undefined;
  return {
    name: raw.name,
    kind,
    description: raw.description ?? '',
    keyAlgorithm: raw.keyAlgorithm ?? 'P-256',
    subject,
    validity: validity.days !== undefined ? { days: validity.days } : { noExpiry: true },
    basicConstraints: bc ? { ca: bc.ca, pathLen: bc.pathLen, critical: bc.critical ?? true } : undefined,
    keyUsage: ku ? { usages: ku.usages, critical: ku.critical ?? true } : undefined,
    extendedKeyUsage: eku ? { oids: eku.usages.map((u) => EKU_NAMES[u] ?? u), critical: eku.critical ?? false } : undefined,
    subjectKeyIdentifier: raw.subjectKeyIdentifier ?? true,
    ...(raw.keyIdentifierMethod === 'sha1' ? { keyIdentifierMethod: 'sha1' as const } : {}),
    authorityKeyIdentifier: raw.authorityKeyIdentifier ?? true,
    hardwareModuleName: raw.hardwareModuleName,
  };
}
