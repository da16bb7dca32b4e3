import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard'
import { logs } from './logs.ts'
import { notifications } from './notifications.ts'
import { pipelineHealth } from './pipeline-health.ts'
import { webAnalytics } from './web-analytics.ts'

/** Every dashboard, by the file name of its generated JSON (dashboards/json/<name>.json). */
export const DASHBOARDS = {
  'web-analytics': webAnalytics,
  logs,
  notifications,
  'pipeline-health': pipelineHealth,
} as const

/**
 * Builds a dashboard and numbers its panels (Grafana wants an id unique within the dashboard;
 * the SDK leaves it to the caller).
 */
export function buildDashboard(name: keyof typeof DASHBOARDS): Dashboard {
  const dashboard = DASHBOARDS[name]().build()
  let id = 1
  for (const panel of dashboard.panels ?? []) {
    panel.id = id++
    for (const nested of (panel as { panels?: { id?: number }[] }).panels ?? []) nested.id = id++
  }
  return dashboard
}

/** The JSON as committed: stable key order from the builders, two-space indent, final newline. */
export function renderDashboard(name: keyof typeof DASHBOARDS): string {
  return `${JSON.stringify(buildDashboard(name), null, 2)}\n`
}
