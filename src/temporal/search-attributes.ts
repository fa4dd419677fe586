// Makes sure the namespace knows atlas-ops' search attributes. A workflow that upserts an unknown
// attribute fails its task over and over, so the worker checks before it polls.
import type { Client } from '@temporalio/client';
import { temporalProto } from './sdk';
import { ATLAS_SEARCH_ATTRIBUTES } from '../../workflows/search-attributes';

/** The type every atlas-ops search attribute is registered with (its key's type in workflows/search-attributes.ts). */
export const SEARCH_ATTRIBUTE_TYPE = 'Keyword';

/** `temporal` CLI arguments adding one atlas-ops search attribute: the error below and the compose stack's namespace job. */
export function searchAttributeCreateArgs(namespace: string, name: string): string[] {
  return ['operator', 'search-attribute', 'create', '--namespace', namespace, '--name', name, '--type', SEARCH_ATTRIBUTE_TYPE];
}

export async function ensureSearchAttributes(client: Client, namespace: string): Promise<string[]> {
  const service = client.connection.operatorService;
  const { customAttributes } = await service.listSearchAttributes({ namespace });
  const missing = ATLAS_SEARCH_ATTRIBUTES.filter((key) => !(key.name in (customAttributes ?? {})));
  if (!missing.length) return [];
  try {
    await service.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(missing.map((key) => [key.name, temporalProto().temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD])),
    });
  } catch (err) {
    throw new Error(
      `namespace ${namespace} lacks the search attributes ${missing.map((k) => k.name).join(', ')} and they could not be added ` +
        `(${(err as Error).message}). Add them as ${SEARCH_ATTRIBUTE_TYPE}: ` +
        missing.map((k) => ['temporal', ...searchAttributeCreateArgs(namespace, k.name)].join(' ')).join('; '),
    );
  }
  return missing.map((k) => k.name);
}
