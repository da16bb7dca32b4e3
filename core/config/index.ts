export { loadConfig, deepFreeze, ConfigError, type DevelopmentDefaults, type Environment } from './load.ts'
export { ENVIRONMENT, type EnvironmentVariable } from './environment.ts'
export type { Config, Project } from './schema.ts'
