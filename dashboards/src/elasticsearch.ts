import type { Builder, Dataquery } from '@grafana/grafana-foundation-sdk/cog'
import {
  CountBuilder, DataqueryBuilder, DateHistogramBuilder, LogsBuilder, RawDataBuilder, TermsBuilder, TermsOrder, type MetricAggregation,
} from '@grafana/grafana-foundation-sdk/elasticsearch'
import { ELASTICSEARCH_REF } from './datasources.ts'

/**
 * Queries of Grafana's Elasticsearch datasource, from the SDK's elasticsearch builders. A query
 * names no index: the datasource's index is used (infra/grafana/provisioning/datasources/eddy.yaml),
 * hence one provisioned datasource per index pattern. Fields are those of the index templates in
 * schemas/elasticsearch/ (a test checks every one): keyword fields for terms and filters, `ts` for
 * time, never the internal `*_tokens` fields (left out of _source). The test node is Elasticsearch
 * without painless or pipeline aggregations, so nothing here uses scripts, moving averages or
 * derivatives.
 *
 * Lucene query text goes through Grafana's `lucene` formatter by default; multi-value variables
 * are written `${var:lucene}` (`("a" OR "b")`), the search box `${search:raw}` (its own syntax).
 */
export const TIME_FIELD = 'ts'

/**
 * The SDK's metric builders (v0.0.21) leave `type` at "unknown" and have no setter for it, so a
 * query built with them alone is one Grafana cannot run; this sets the type on the built object.
 */
function metric(builder: Builder<MetricAggregation>, type: 'count' | 'logs' | 'raw_data'): Builder<MetricAggregation> {
  return { build: () => ({ ...builder.build(), type }) }
}

const query = (lucene: string) => new DataqueryBuilder().datasource(ELASTICSEARCH_REF).refId('A').query(lucene).timeField(TIME_FIELD)

/** Documents per interval (`$__interval`), one series per value of a keyword field, largest first. */
export function countsBy(field: string, lucene: string): Builder<Dataquery> {
  return query(lucene)
    .alias(`{{term ${field}}}`)
    .metrics([metric(new CountBuilder().id('1'), 'count')])
    .bucketAggs([
      new TermsBuilder().id('2').field(field).settings({ size: '20', order: TermsOrder.Desc, orderBy: '_count', min_doc_count: '1' }),
      new DateHistogramBuilder().id('3').field(TIME_FIELD).settings({ interval: '$__interval', min_doc_count: '0' }),
    ])
}

/** The newest `limit` documents as log lines (message and level: the datasource's logMessageField and logLevelField). */
export function logLines(lucene: string, limit: number): Builder<Dataquery> {
  return query(lucene)
    .metrics([metric(new LogsBuilder().id('1').settings({ limit: String(limit) }), 'logs')])
    .bucketAggs([])
}

/** The newest `size` documents, one column per _source field (flattened: `attributes.<key>`). */
export function documents(lucene: string, size: number): Builder<Dataquery> {
  return query(lucene)
    .metrics([metric(new RawDataBuilder().id('1').settings({ size: String(size) }), 'raw_data')])
    .bucketAggs([])
}
