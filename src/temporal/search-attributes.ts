// Makes sure the namespace knows atlas-ops' search attributes. A workflow that upserts an unknown
// attribute fails its task over and over, so the worker checks before it polls.
import type { Client } from '@temporalio/client';
import { temporalProto } from './sdk';
import { ATLAS_SEARCH_ATTRIBUTES } from '../../workflows/search-attributes';

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
        `(${(err as Error).message}). Add them as Keyword: temporal operator search-attribute create --namespace ${namespace} ` +
        missing.map((k) => `--name ${k.name} --type Keyword`).join(' '),
    );
  }
  return missing.map((k) => k.name);
}
