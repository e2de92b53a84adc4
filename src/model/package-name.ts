import { ApprError } from '../errors/index.js'

/** A validated `namespace/name`. */
export interface PackageName {
  readonly namespace: string
  readonly name: string
  /** `namespace/name`, lowercased. */
  readonly full: string
}

// Quay's repository rule; `.` and `..` cannot match because a segment starts with [a-z0-9].
const SEGMENT = /^[a-z0-9][a-z0-9._-]{0,254}$/
const CHANNEL = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/

/**
 * Validates a package segment (namespace or name). Upper case is accepted, as the appr client
 * does, and folded: package names compare case-insensitively.
 * @throws ApprError `invalid-parameters`
 */
export function parseSegment(input: string, part: 'namespace' | 'name'): string {
  const lowered = typeof input === 'string' ? input.toLowerCase() : ''
  if (!SEGMENT.test(lowered)) {
    throw new ApprError('invalid-parameters', `invalid package ${part} '${String(input).slice(0, 300)}': expected [a-z0-9][a-z0-9._-]{0,254}`, {
      details: { [part]: String(input).slice(0, 300) },
    })
  }
  return lowered
}

/**
 * Parses `namespace/name` (exactly two segments).
 * @throws ApprError `invalid-parameters`
 */
export function parsePackageName(input: string): PackageName {
  const parts = typeof input === 'string' ? input.split('/') : []
  if (parts.length !== 2) {
    throw new ApprError('invalid-parameters', `invalid package name '${String(input).slice(0, 600)}': expected namespace/name`, {
      details: { package: String(input).slice(0, 600) },
    })
  }
  return packageName(parts[0]!, parts[1]!)
}

/** Builds a {@link PackageName} from its two segments. @throws ApprError `invalid-parameters` */
export function packageName(namespace: string, name: string): PackageName {
  const ns = parseSegment(namespace, 'namespace')
  const n = parseSegment(name, 'name')
  return { namespace: ns, name: n, full: `${ns}/${n}` }
}

/**
 * Validates a channel name (Quay's tag rule). Channel names are case-sensitive.
 * @throws ApprError `invalid-parameters`
 */
export function parseChannelName(input: string): string {
  if (typeof input !== 'string' || !CHANNEL.test(input)) {
    throw new ApprError('invalid-parameters', `invalid channel name '${String(input).slice(0, 200)}': expected [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`, {
      details: { channel: String(input).slice(0, 200) },
    })
  }
  return input
}
