/**
 * Every port a use case needs, as one registry. Each store backend implements all of it: no port is optional,
 * so callers never probe for one (a store whose log nothing was appended to has an empty log, not none).
 */
import type { ChallengeLedger } from './challenges.js';
import type { DocumentRegistry, KeyReferences } from './documents.js';
import type { EvidenceRegistry } from './evidence.js';
import type { LDevIDRegistry } from './ldevids.js';
import type { DeviceCatalog, DeviceRegistry } from './ports.js';
import type { ReleaseRegistry } from './releases.js';
import type { CheckpointHistory, RegistryCheckpointMemory, TransparencyLog } from './transparency-log.js';

/** The registry of one organisation: devices, documents, log, checkpoints, evidence, challenges, keys, releases, LDevIDs. */
export interface Registry
  extends
    DeviceRegistry,
    DeviceCatalog,
    DocumentRegistry,
    KeyReferences,
    TransparencyLog,
    CheckpointHistory,
    RegistryCheckpointMemory,
    EvidenceRegistry,
    ChallengeLedger,
    ReleaseRegistry,
    LDevIDRegistry {
  /** A path or URL naming the registry, for messages (a URL without its password). */
  readonly location: string;
  /** Releases what the registry holds open (files, connections). */
  close(): Promise<void>;
}
