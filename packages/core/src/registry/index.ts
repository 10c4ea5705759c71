/** The ports: what the use cases need from a registry, each implemented in full by every store backend. */
export type { AppendResult, AttestationAppend, ChainFacts, ChainTip, Conflict, ConflictKind, DeviceCatalog, DeviceRecord, DeviceRegistry } from './ports.js';
export type { Registry } from './registry.js';
export type { CARecord, DocumentRegistry, KeyRef, KeyReferences, PartyRecord, RevocationRecord, TokenKeyProtection } from './documents.js';
export type { CheckpointHistory, LogConfig, RegistryCheckpointMemory, TransparencyLog } from './transparency-log.js';
export type { EvidenceRecord, EvidenceRegistry } from './evidence.js';
export type { ChallengeLedger } from './challenges.js';
export type { FirmwareSignerRecord, ReleaseRecord, ReleaseRegistry, WithdrawalsRecord } from './releases.js';
export type { LDevIDRecord, LDevIDRegistry } from './ldevids.js';
export type { ChallengeRecords, ChallengeRegistry, IssuedChallenge, NonceState } from '../possession/challenge.js';
export type { CheckpointMemory } from '../verification/checkpoint-memory.js';
