// open(location) for conformance child processes: the parent test sets APPR_TEST_ETCD_ENDPOINTS.
import { etcdStore } from 'appr-core/adapters/etcd'

export const open = (location: string) => etcdStore({ hosts: process.env.APPR_TEST_ETCD_ENDPOINTS!.split(','), prefix: `${location}/` })
