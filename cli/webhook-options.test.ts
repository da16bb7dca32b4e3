import { expect, it } from 'vitest'
import { loadConfig } from '../core/config/index.ts'
import { webhookOptions } from './pipeline.ts'

it('hands each project\'s webhook secrets and the public URL to ingest', () => {
  const twilio = { authToken: 'twilio-token' }
  const config = loadConfig({
    EDDY_PROJECTS: JSON.stringify([
      { id: 'shop', writeKeys: ['shop-write-1'], readKeys: [], webhooks: { twilio } },
      { id: 'blog', writeKeys: ['blog-write-1'], readKeys: [] },
    ]),
    EDDY_PUBLIC_URL: 'https://eddy.example.com',
  })
  expect(webhookOptions(config)).toEqual({ projects: { shop: { twilio } }, publicUrl: 'https://eddy.example.com' })
  expect(webhookOptions(loadConfig({ EDDY_WRITE_KEY: 'write-key-1' }))).toEqual({ projects: {} })
})
