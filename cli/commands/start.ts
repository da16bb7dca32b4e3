import { startPipeline } from '../pipeline.ts'
import { createRuntime } from '../runtime.ts'
import { untilSignal, type Command } from '../command.ts'

export const startCommand: Command = {
  name: 'start',
  summary: 'Run the whole pipeline in one process (ingest, processors, api)',
  developmentProject: true,
  help: `Usage: eddy start

Runs ingest, the processors and the api in one process. Without KAFKA_BROKERS and CLICKHOUSE_URL
everything is embedded: the durable log and the ClickHouse engine (chDB) live in EDDY_DATA_DIR.
With no project configured, a development project is created and its keys are printed.
Listens on PORT (default 8080). Stop with Ctrl-C: requests stop, consumers drain, sinks flush.`,
  async run({ config, logger, print }) {
    const runtime = createRuntime(config, logger)
    const pipeline = await startPipeline(runtime, { ingest: true, process: true, api: true })
    const project = config.projects[0]
    const writeKey = project?.writeKeys[0] ?? '<write key>'
    const readKey = project?.readKeys[0] ?? '<read key>'
    print([
      '',
      `Eddy is running: ${pipeline.url}`,
      `  bus: ${config.kafkaBrokers.length ? `Kafka ${config.kafkaBrokers.join(',')}` : `embedded log in ${config.dataDir}/log`}`,
      `  ClickHouse: ${config.clickhouse.url ?? `embedded (chDB) in ${config.dataDir}/clickhouse`}`,
      ...(config.developmentProject ? [`  development project "${project?.id}" (keys kept in ${config.dataDir}/development-project.json)`] : []),
      `  write key: ${writeKey}`,
      `  read key:  ${readKey}`,
      ...(config.operatorKeys[0] ? [`  operator key: ${config.operatorKeys[0]} (the whole pipeline's health${config.developmentProject ? `; kept in ${config.dataDir}/development-operator-key` : ''})`] : []),
      `  dashboard: ${pipeline.url}/#key=${readKey}`,
      '',
      'Try:',
      `  curl -u ${writeKey}: -H 'content-type: application/json' ${pipeline.url}/v1/track \\`,
      `    -d '{"anonymousId":"a1","event":"Signed Up","properties":{"plan":"pro"}}'`,
      `  curl -H 'authorization: Bearer ${readKey}' '${pipeline.url}/api/v1/events/count?stream=click&from=2020-01-01T00:00:00Z&to=2100-01-01T00:00:00Z'`,
      `  npx eddy demo --url ${pipeline.url} --key ${writeKey}`,
      '',
    ].join('\n'))
    const ended = await Promise.race([untilSignal().then((signal) => ({ signal })), pipeline.lost.then((error) => ({ error }))])
    if ('error' in ended) {
      logger.fatal({ err: ended.error }, 'a part of the pipeline stopped by itself; shutting down')
      await pipeline.stop()
      return 1
    }
    logger.info({ signal: ended.signal }, 'shutting down')
    await pipeline.stop()
  },
}
