export { CustodyError, isCustodyError, categoryOf, EXIT_CODES, type ErrorCategory } from './errors.js';
export { toHex, fromHex, toBase64, fromBase64, concatBytes, equalBytes, utf8, fromUtf8 } from './util/bytes.js';
export { parseStrictJSON, quoteBounded, DEFAULT_MAX_JSON_DEPTH, type StrictJSONOptions } from './util/strict-json.js';
export { OID } from './asn1/oids.js';
export type { CryptoProvider, CurveName, HashName, KeyPair, PrivateKeyHandle, PublicKeyHandle, SyncCrypto } from './crypto/provider.js';
export { curveBytes, curveHash } from './crypto/provider.js';
export { WebCryptoProvider, type WebCryptoLike } from './crypto/webcrypto-provider.js';
export { ecdsaDERToP1363, ecdsaP1363ToDER, isLowS, toLowS } from './crypto/ecdsa-signature.js';
export { encodePEM, decodePEM, decodePEMAll, derOrPEM, parsePEM, readPEMBlocks } from './x509/pem.js';
export { encodeName, NAME_ATTRIBUTES, type NameSpec } from './x509/name.js';
export { readCertificateInfo, certificateInfo, spkiCurve, spkiPublicKeyBits, type CertificateInfo } from './x509/certificate-info.js';
export {
  CertificateFactory,
  keyIdentifier,
  signatureAlgorithm,
  type FactoryOptions,
  type IssueRequest,
  type IssuedCertificate,
  type Issuer,
} from './x509/certificate-factory.js';
export { parseCSR, verifyCSR, createCSR, algorithmName, type CertificationRequest } from './x509/csr.js';
export { parseTemplate } from './templates/parse-template.js';
export { expandSubject, TEMPLATE_KINDS, TEMPLATE_VARIABLES, KEY_USAGES, EKU_NAMES, type CertificateTemplate, type TemplateKind } from './templates/template.js';
export { parseLocatedYAML, checkFields, type FieldSpec, type LocatedDocument } from './templates/schema.js';
export type { ChainFacts, ChainTip, DeviceRecord, DeviceRegistry, Conflict, ConflictKind } from './registry/ports.js';
export {
  provisionDevices,
  prepareProvisioning,
  checkRequest,
  prepareChecked,
  issuePrepared,
  DEVICE_SERIAL,
  type ProvisionInput,
  type ProvisionOptions,
  type ProvisionedDevice,
  type Prepared,
  type CheckedRequest,
} from './provisioning/provision.js';
export { describeCertificate, formatCertificateDescription, type CertificateDescription } from './x509/describe.js';
export { parseCertificate, isSelfSigned, findExtension, type ParsedCertificate, type AlgorithmIdentifier } from './validation/certificate.js';
export { parseCRL, type ParsedCRL } from './validation/crl.js';
export { parseName, namesEqual, nameAttributeList, type ParsedName } from './validation/name.js';
export type { GeneralName } from './validation/general-name.js';
export { KEY_USAGE_BITS, type BasicConstraints, type NameConstraints, type Extension } from './validation/extensions.js';
export { createProviderVerifier, type SignatureVerifier, type SignatureInput } from './validation/signature.js';
export {
  PathValidator,
  DEFAULT_MAX_DEPTH,
  DEFAULT_BUDGET,
  type PathValidatorOptions,
  type ValidateOptions,
  type RevocationOptions,
} from './validation/path-validator.js';
export { validatePath, verifyPath, type ValidatePathOptions } from './validation/validate-path.js';
export type { PathReport, PathCheck, ChainErrorCode, RevocationState, RevocationStatus } from './validation/report.js';
export {
  STATEMENT_TYPE,
  ATTESTATION_KINDS,
  encodeStatement,
  parseStatement,
  validateStatement,
  createStatement,
  predicateTypeOf,
  statementKind,
  formatStatementTime,
  isHex64,
  isStatementTime,
  type AttestationKind,
  type Predicate,
  type Statement,
  type StatementSubject,
  type StatementInput,
} from './attestation/statement.js';
export {
  parseClaims,
  mergeClaims,
  encodeClaims,
  canonicalJSON,
  isVendorClaimName,
  withProduction,
  CLAIM_VOCABULARY,
  type Claims,
  type CodeValidationClaim,
  type ClaimName,
  type ProductionClaim,
} from './attestation/claims.js';
export {
  createAttestationSigner,
  signAttestation,
  signAttestationSync,
  parseAttestation,
  isHighSAttestation,
  verifyAttestationSignature,
  type AttestationSigner,
  type AttestationSignerInput,
  type ParsedAttestation,
  type SignerIdKind,
  type UnsignedAttestation,
} from './attestation/cms.js';
export {
  chainHead,
  headOfChain,
  readChainFacts,
  createTransfer,
  signTransfer,
  birthStatement,
  createBirths,
  deviceSubjectName,
  type DeviceHead,
  type BirthInput,
  type Births,
  type Transfer,
  type TransferTemplate,
  type TransferInput,
  type SignedTransfer,
} from './custody/chain.js';
export type { AttestationAppend, AppendResult } from './registry/ports.js';
export { parseWorkflow, WORKFLOW_ROLES, type Workflow, type WorkflowStage, type WorkflowRole } from './workflow/workflow.js';
export { evaluateWorkflow, type ChainStep, type WorkflowEvaluationOptions, type WorkflowReport } from './workflow/evaluate-workflow.js';
export {
  matchSignerRule,
  matchSigners,
  partyName,
  type SignerRule,
  type CASignerRule,
  type PinnedSignerRule,
  type PartyIdentity,
  type WorkflowTrust,
} from './workflow/signer-rule.js';
export { parsePolicy, builtinPolicyNames, type Policy, type EvidenceRule } from './workflow/policy.js';
export { evaluatePolicy, type PolicyEvidence, type FirmwareEvidence } from './workflow/evaluate-policy.js';
export { checkClaimRequirement, describeClaimRequirement, type ClaimRequirement } from './workflow/claim-requirement.js';
export { parseClaimPath, resolveClaimPath, type ClaimPath } from './workflow/claim-path.js';
export { parseISODuration, addDuration, formatDuration, type Duration } from './workflow/duration.js';
export type { EvaluationCheck, EvaluationReport } from './workflow/report.js';
export {
  createChallenge,
  parseChallenge,
  respondToChallenge,
  parseChallengeResponse,
  verifyChallengeResponse,
  CHALLENGE_TYPE,
  RESPONSE_TYPE,
  type Challenge,
  type ChallengeResponse,
  type ChallengeRegistry,
  type ChallengeRecords,
  type IssuedChallenge,
  type NonceState,
  type PossessionResult,
} from './possession/challenge.js';
export {
  BUNDLE_VERSION,
  BUNDLE_LIMITS,
  type Bundle,
  type BundleAttestation,
  type BundleLog,
  type BundleInclusionProof,
  type BundleEarlierCheckpoint,
} from './bundle/bundle-model.js';
export { detachAttestation, attachAttestation, type DetachedAttestation } from './bundle/detach-attestation.js';
export { expandShell, compactSignature, type Sha256 } from './bundle/compact-attestation.js';
export { rebuildAttestation } from './bundle/rebuild-attestation.js';
export { encodeBundle } from './bundle/encode-bundle.js';
export { parseBundle } from './bundle/parse-bundle.js';
export { createBundle, type BundleInput } from './bundle/create-bundle.js';
export {
  createVerifier,
  settleCheckpoint,
  type Verifier,
  type VerifierOptions,
  type VerifyOptions,
  type PossessionEvidence,
  type ExpectedCustodian,
} from './verification/verifier.js';
export { checkRemembered, type CheckpointMemory, type SeenCandidate } from './verification/checkpoint-memory.js';
export type { VerificationReport, VerificationCheck, VerifyErrorCode } from './verification/report.js';
export type { WorkflowOption, ExternalEvidence } from './verification/evaluation.js';
export {
  checkFirmwareReleases,
  type FirmwareOutcome,
  type FirmwareStep,
  type RefusedRelease,
  type ReleaseSet,
  type TrustedRelease,
} from './verification/firmware-releases.js';
export { verifyReleaseSet, type ReleaseDocument, type ReleaseDocuments } from './verification/release-set.js';
export { verifyBundleLog, type BundleLogOptions, type BundleLogVerdict } from './verification/bundle-log.js';
export { revokedSignerCheck, type RevokedSignerEvidence } from './verification/revoked-signer.js';
export { attestationSignerProblem, isDeviceIdentity, type SignerProblem, type SignerProfileCode } from './verification/signer-profile.js';
export {
  revocationCoverage,
  describeRevocationGap,
  type RevocationCoverage,
  type RevocationGap,
  type CoverageOptions,
} from './verification/revocation-coverage.js';
export { sha256 } from './util/sha256.js';
export { leafHash, nodeHash, emptyTreeHash, merkleTreeHead, merkleTreeHeadOfEntries, type HashFn, type LeafHashAccessor } from './log/merkle.js';
export { MemoryNodeStore, leafNodeStore, subtreeHash, rangeHash, treeRoot, type NodeStore, type StoredNode } from './log/node-store.js';
export { MerkleLog, type Frontier } from './log/merkle-log.js';
export { inclusionProof, rootFromInclusionProof, verifyInclusion, type InclusionProof } from './log/inclusion.js';
export { consistencyProof, verifyConsistency, type ConsistencyProof } from './log/consistency.js';
export { parseSignedNote, encodeSignedNote, isNoteKeyName, NOTE_MAX_SIGNATURES, type SignedNote, type NoteSignature } from './log/signed-note.js';
export { NOTE_SIGNATURE_TYPE_ECDSA, ecdsaNoteKeyId, createVerifierKey, encodeVerifierKey, parseVerifierKey, type VerifierKey } from './log/verifier-key.js';
export {
  encodeCheckpoint,
  parseCheckpointText,
  parseCheckpoint,
  signCheckpoint,
  verifyCheckpoint,
  type Checkpoint,
  type SignedCheckpoint,
  type CheckpointSigner,
  type VerifiedCheckpoint,
} from './log/checkpoint.js';
export { LOG_ERROR_CODES } from './log/log-errors.js';
export { analyzeChains, type Finding, type FindingKind, type ObservedChain, type Revocation, type MonitorInput } from './monitor/analyze.js';
export { readOne, readTLV, children, readOID, readTime, TAG, type TLV } from './asn1/der.js';
export { createCRL, isCRLReason, normalizeSerialHex, CRL_REASONS, type CRLReason, type CRLOptions, type RevokedCertificate } from './x509/crl-builder.js';
