import { Client } from '@elastic/elasticsearch'

export type { Client as ElasticsearchClient }

/**
 * The Elasticsearch client. The client's own retries are off: the indexer retries with Eddy's
 * backoff (forever, while offsets wait), and a search that fails is reported to its caller at once.
 */
export function createElasticsearchClient(url: string): Client {
  return new Client({ node: url, maxRetries: 0, requestTimeout: 30_000, compression: false })
}
