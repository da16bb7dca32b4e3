/** The Bus contract with @platformatic/kafka producing and kafkajs consuming what it wrote. */
import { describeWithService } from '../../../test/support/services.ts'
import { busContract } from '../contract.ts'
import { createKafkaBus } from '../kafka/index.ts'
import { testOptions } from '../kafka/test-support.ts'

describeWithService('kafka', 'KAFKA_BROKERS', 'Kafka adapter with the @platformatic/kafka producer', (brokers) => {
  busContract('kafka (platformatic producer)', async () => {
    const bus = createKafkaBus(testOptions(brokers, { client: 'platformatic' }))
    return { bus, cleanup: () => bus.close() }
  })
})
