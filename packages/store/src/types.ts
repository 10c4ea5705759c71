/**
 * The store as callers see it: core's `Registry` (every port, declared in @custody/core/registry) under the name
 * the store package has always used. The record types are core's, re-exported here for compatibility.
 */
import type { Registry } from '@custody/core/ports';
import type { CheckpointHistory, RegistryCheckpointMemory, TransparencyLog } from '@custody/core/ports';

export type { CARecord, KeyRef, PartyRecord, RevocationRecord as Revocation } from '@custody/core/ports';
export type { LogConfig, CheckpointHistory } from '@custody/core/ports';
export type { EvidenceRecord, EvidenceRegistry as EvidenceStore } from '@custody/core/ports';

/** A store: every port of core's registry, on the local disk or on PostgreSQL. */
export type Store = Registry;

/** The log ports together (the log, its checkpoint history, the checkpoint memory), as `ownLogConsistency` reads them. */
export type TransparencyLogStore = TransparencyLog & CheckpointHistory & RegistryCheckpointMemory;
