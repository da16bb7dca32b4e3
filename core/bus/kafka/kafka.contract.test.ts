import { describeWithService } from '../../../test/support/services.ts'
import { busContract } from '../contract.ts'
import { createKafkaBus } from './index.ts'
import { testOptions } from './test-support.ts'

describeWithService('kafka', 'KAFKA_BROKERS', 'Kafka adapter', (brokers) => {
  busContract('kafka', async () => {
    const bus = createKafkaBus(testOptions(brokers))
    return { bus, cleanup: () => bus.close() }
  })
})

