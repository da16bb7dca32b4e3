/** The vocabulary of the synthetic shop the traffic model visits. */
export const PAGES = [
  '/', '/pricing', '/products', '/products/coffee-grinder', '/products/espresso-machine', '/blog', '/blog/how-to-brew',
  '/docs', '/docs/getting-started', '/signup', '/login', '/cart', '/checkout', '/about', '/careers', '/contact',
  '/products/kettle', '/products/beans-ethiopia', '/products/beans-colombia', '/blog/grind-size', '/blog/water',
  '/docs/api', '/docs/faq', '/legal/privacy', '/legal/terms',
] as const

export const REFERRERS = [
  'https://www.google.com/', 'https://news.ycombinator.com/', 'https://www.reddit.com/r/coffee/', 'https://twitter.com/',
  'https://www.bing.com/', 'https://duckduckgo.com/', 'https://www.facebook.com/', 'https://github.com/', 'https://blog.example.org/review',
  'https://www.linkedin.com/',
] as const

export const CAMPAIGNS = [
  { source: 'newsletter', medium: 'email', campaign: 'november' },
  { source: 'google', medium: 'cpc', campaign: 'brand' },
  { source: 'twitter', medium: 'social', campaign: 'launch' },
] as const

export const CLIENTS = [
  ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36', '1920x1080', 30],
  ['Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15', '1440x900', 14],
  ['Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0', '2560x1440', 6],
  ['Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1', '390x844', 24],
  ['Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36', '412x915', 18],
  ['Mozilla/5.0 (iPad; CPU OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1', '820x1180', 5],
  ['Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)', '', 3],
] as const

export const LOCALES = [['en-US', 40], ['de-DE', 15], ['fr-FR', 10], ['en-GB', 12], ['es-ES', 8], ['ja-JP', 5]] as const
export const COUNTRIES = { 'en-US': 'US', 'de-DE': 'DE', 'fr-FR': 'FR', 'en-GB': 'GB', 'es-ES': 'ES', 'ja-JP': 'JP' } as const

export const SERVICES = ['checkout', 'api', 'auth', 'search', 'worker'] as const
export const HOSTS = ['web-1', 'web-2', 'web-3', 'worker-1'] as const
export const INFO_MESSAGES = [
  'GET /api/products/{n} 200 in {ms} ms', 'user {id} logged in', 'cache hit for key product:{n}', 'job {uuid} finished in {ms} ms',
  'POST /api/cart 201 in {ms} ms', 'search "{word}" returned {n} results',
] as const
export const ERROR_MESSAGES = [
  'payment {n} failed: card declined', 'timeout after {ms} ms calling inventory at 10.0.{n}.7:8080', 'user {id} not found',
  'job {uuid} failed: connection reset', 'could not open /var/data/cache/{n}.json', 'upstream 502 from "pricing-service"',
] as const

export const NOTIFICATION_TEMPLATES = ['welcome', 'order-confirmation', 'shipping-update', 'password-reset', 'weekly-digest'] as const
export const PROVIDERS = {
  email: [['sendgrid', 0.02], ['ses', 0.015]],
  sms: [['twilio', 0.04]],
  push: [['fcm', 0.03], ['apns', 0.02]],
  in_app: [['eddy', 0.0]],
  webhook: [['webhook', 0.05]],
} as const
