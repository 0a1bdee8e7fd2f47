/**
 * Where adapters travel between hosts (docs/decisions/0009-artifact-storage.md): every host keeps its own copy under
 * artifacts/, and one shared backend, chosen by `--artifacts` / BSLORA_ARTIFACTS, carries them from the agent that
 * trained an adapter to the eval consumer and the control plane that need it.
 */

/** A shared store of adapter archives keyed by their sha256. Writes are atomic: a reader sees all or nothing. */
export interface ArtifactBackend {
  /** Names the backend in messages (`the Redis mirror`, `file:///shared/artifacts`, `s3://bucket/prefix`). */
  readonly description: string;
  /** Stores the archive under its sha256 (the caller computed it); storing the same bytes twice is harmless. */
  put(sha256: string, data: Buffer): Promise<void>;
  /** The stored bytes, unverified (the caller checks them against the sha256); undefined when there are none. */
  get(sha256: string): Promise<Buffer | undefined>;
  close?(): Promise<void>;
}
