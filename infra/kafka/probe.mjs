// Readiness probe for kafka.sh: exits 0 once the broker answers a metadata request through the same
// client the adapter uses (kafkajs), which proves more than an open port: the broker is registered
// with its controller and serves clients. With an expected cluster id it also proves the answer
// came from *this* broker, not another process that happens to hold the same port.
// kafkajs is resolved from the repo's node_modules.
import { createRequire } from 'node:module'

const require = createRequire(new URL('../../package.json', import.meta.url))
const { Kafka, logLevel } = require('kafkajs')

const [brokers, expectedClusterId] = process.argv.slice(2)
if (!brokers) {
  console.error('usage: node probe.mjs host:port [cluster-id]')
  process.exit(2)
}
const kafka = new Kafka({
  clientId: 'eddy-kafka-probe',
  brokers: [brokers],
  logLevel: logLevel.NOTHING,
  connectionTimeout: 1_000,
  requestTimeout: 3_000,
  retry: { retries: 0 },
})
const admin = kafka.admin()
try {
  await admin.connect()
  const cluster = await admin.describeCluster()
  await admin.listTopics()
  if (cluster.brokers.length === 0) throw new Error('no broker registered yet')
  if (expectedClusterId && cluster.clusterId !== expectedClusterId) {
    throw new Error(`${brokers} is another cluster (${cluster.clusterId}, expected ${expectedClusterId})`)
  }
  process.exitCode = 0
} catch (error) {
  console.error(String(error?.message ?? error))
  process.exitCode = 1
} finally {
  await admin.disconnect().catch(() => undefined)
}
