import { memoryStore } from 'appr-core/adapters/memory'
import { runConformance } from 'appr-core/conformance'

// Declared limits (roughly etcd's) so the limit properties run against the reference adapter too.
const limits = { maxValueBytes: 64 * 1024, maxOpsPerCommit: 128, maxKeyBytes: 1024 }
await runConformance({ name: 'memory', open: () => memoryStore({ limits }) })
