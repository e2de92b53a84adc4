// open(location) for conformance child processes: the parent test sets APPR_TEST_REDIS_URL.
import { redisStore } from 'appr-core/adapters/redis'

export const open = (location: string) => redisStore({ url: process.env.APPR_TEST_REDIS_URL!, prefix: location })
