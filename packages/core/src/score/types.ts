/**
 * A Score workload (`score.dev/v1b1`) after validation and normalisation: the deprecated array
 * forms of `files` and `volumes` are turned into the map form keyed by target path, so nothing
 * after validation needs to know about them.
 */
export const SCORE_API_VERSION = 'score.dev/v1b1';

export interface ScoreWorkload {
  apiVersion: typeof SCORE_API_VERSION;
  metadata: WorkloadMetadata;
  service?: { ports?: Record<string, ServicePort> };
  containers: Record<string, Container>;
  resources?: Record<string, ResourceRequest>;
}

export interface WorkloadMetadata {
  name: string;
  annotations?: Record<string, string>;
  /** The specification allows further metadata keys; `${metadata.*}` placeholders may read them. */
  [key: string]: unknown;
}

export interface ServicePort {
  port: number;
  protocol?: 'TCP' | 'UDP';
  targetPort?: number;
}

export interface Container {
  image: string;
  command?: string[];
  args?: string[];
  variables?: Record<string, string>;
  /** Keyed by target path in the container. */
  files?: Record<string, ContainerFile>;
  /** Keyed by target path in the container. */
  volumes?: Record<string, ContainerVolume>;
  /** Containers of the same workload that must reach a state before this one starts. */
  before?: Record<string, { ready: 'started' | 'healthy' | 'complete' }>;
  resources?: { limits?: ResourceLimits; requests?: ResourceLimits };
  livenessProbe?: Probe;
  readinessProbe?: Probe;
}

export interface ContainerFile {
  mode?: string;
  /** Path of a file to read the content from, relative to the Score file. */
  source?: string;
  content?: string;
  /** Standard base64; never placeholder-expanded. */
  binaryContent?: string;
  noExpand?: boolean;
}

export interface ContainerVolume {
  source: string;
  path?: string;
  readOnly?: boolean;
}

export interface ResourceLimits {
  memory?: string;
  cpu?: string;
}

export interface Probe {
  httpGet?: HttpProbe;
  exec?: { command: string[] };
}

export interface HttpProbe {
  scheme?: 'HTTP' | 'HTTPS';
  host?: string;
  path: string;
  port: number;
  httpHeaders?: { name: string; value: string }[];
}

export interface ResourceRequest {
  type: string;
  class?: string;
  id?: string;
  metadata?: { annotations?: Record<string, string>; [key: string]: unknown };
  params?: Record<string, unknown>;
}
