// The namespace a self-hosted cluster registers, with its retention and atlas-ops' search
// attributes: `atlas-ops cluster up` registers it through the SDK (src/cluster/cluster.ts) and
// docker-compose.yml's one-shot `temporal-namespace` service runs the same registration with the
// `temporal` CLI of the admin-tools image (src/cluster/compose.ts). Both read it from here.
import { ATLAS_SEARCH_ATTRIBUTES } from '../../workflows/search-attributes';
import { searchAttributeCreateArgs } from '../temporal/search-attributes';
import { shellScript } from './schema';
import { CLUSTER, retentionHours } from './settings';

export interface NamespaceRegistration {
  namespace: string;
  retentionHours: number;
  /** Custom search attributes, all Keyword (src/temporal/search-attributes.ts). */
  searchAttributes: string[];
}

export function namespaceRegistration(): NamespaceRegistration {
  return { namespace: CLUSTER.namespace, retentionHours: retentionHours(), searchAttributes: ATLAS_SEARCH_ATTRIBUTES.map((k) => k.name) };
}

/** The registration as `temporal` CLI steps against the frontend at `address`; each is done when it already exists. */
export function namespaceSteps(address: string, r: NamespaceRegistration = namespaceRegistration()): { args: string[]; alreadyDone: string }[] {
  const at = ['--address', address];
  return [
    { args: ['operator', 'namespace', 'create', '--namespace', r.namespace, '--retention', `${r.retentionHours}h`, ...at], alreadyDone: 'already' },
    ...r.searchAttributes.map((name) => ({ args: [...searchAttributeCreateArgs(r.namespace, name), ...at], alreadyDone: 'already' })),
  ];
}

export function namespaceScript(address: string): string {
  return shellScript('temporal', namespaceSteps(address));
}
