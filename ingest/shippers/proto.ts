import { fileURLToPath } from 'node:url'
import protobuf from 'protobufjs'

/**
 * The published OTLP and Loki push definitions (vendored under ./proto with their source commit),
 * loaded once by protobufjs. Loki's file imports gogoproto for Go code generation only; that
 * import is skipped, which leaves the wire format untouched. google/protobuf/timestamp.proto is
 * bundled with protobufjs.
 */
const DIRECTORY = fileURLToPath(new URL('./proto/', import.meta.url))

export interface ShipperTypes {
  readonly otlpLogsRequest: protobuf.Type
  readonly otlpLogsResponse: protobuf.Type
  readonly lokiPushRequest: protobuf.Type
}

let loaded: ShipperTypes | undefined

export function shipperTypes(): ShipperTypes {
  if (loaded) return loaded
  const root = new protobuf.Root()
  root.resolvePath = (_origin, target) => (target.startsWith('gogoproto/') ? (null as unknown as string) : protobuf.util.path.resolve(DIRECTORY, target))
  root.loadSync(['opentelemetry/proto/collector/logs/v1/logs_service.proto', 'loki/push.proto'], { keepCase: false })
  loaded = {
    otlpLogsRequest: root.lookupType('opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest'),
    otlpLogsResponse: root.lookupType('opentelemetry.proto.collector.logs.v1.ExportLogsServiceResponse'),
    lokiPushRequest: root.lookupType('logproto.PushRequest'),
  }
  return loaded
}

/** Plain-object view of a decoded message: 64-bit numbers as decimal strings, bytes as arrays. */
export function decodeToObject(type: protobuf.Type, bytes: Uint8Array): Record<string, unknown> {
  return type.toObject(type.decode(bytes), { longs: String, enums: Number, bytes: Array, defaults: false, arrays: true }) as Record<string, unknown>
}
