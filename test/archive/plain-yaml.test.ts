import fc from 'fast-check'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { parse as parseYaml } from 'yaml'
import { parsePlainYaml } from '../../src/archive/plain-yaml.js'

/** What `yaml` gives, or a marker for its error. */
function reference(text: string): unknown {
  try {
    return parseYaml(text)
  } catch {
    return { error: true }
  }
}

test('a typical Chart.yaml takes the fast path, with what yaml gives', () => {
  const text = 'apiVersion: v2\nname: my-chart\nversion: 1.2.3+build.4\nappVersion: v1.0\ndescription: A chart (for tests), isn\'t it\ntype: application\n'
  const fast = parsePlainYaml(text)
  assert.ok(fast)
  assert.equal(fast, parseYaml(text))
})

test('anything not plainly a flat mapping of strings is left to yaml', () => {
  for (const text of ['', 'a: 1\n', 'a: 1.0\n', 'a: true\n', 'a: null\n', 'a: x #c\n', 'a: b: c\n', 'a: x\na: y\n', 'a:\n  b: c\n', 'a: [x]\n', 'a: "x"\n', 'a: x\r\n', 'true: x\n', 'a:  x\n', 'a: x \n', '- x\n', '---\na: x\n']) {
    assert.is(parsePlainYaml(text), undefined, JSON.stringify(text))
  }
})

test('property: the fast path gives exactly what yaml gives, or declines', () => {
  const atoms = ['a', 'name', 'Z9', 'true', 'False', 'null', '1', '1.0', '1.2.3', '0x1f', '0o7', '.inf', '~', 'x-y', 'x_y', "it's", '(x)', 'a,b', 'a/b', 'a+b', '-', ':', '#', '"', "'", '[', '{', '&a', '*a', '!t', '|', '>', '%', '@', '`', '?', ' ', '\t', '\r', 'é', '__proto__', 'constructor', '']
  const plain = ['a', 'name', 'Z9', 'x-y', 'x_y', 'v1', '1.2.3', "it's", '(x)', 'a,b', 'a/b', 'a+b', '.5', '-']
  // Mostly words of plain pieces (the fast path's ground), some with anything in them.
  const word = fc.oneof(
    { weight: 4, arbitrary: fc.array(fc.constantFrom(...plain), { minLength: 1, maxLength: 3 }).map((parts) => parts.join('')) },
    { weight: 1, arbitrary: fc.array(fc.constantFrom(...atoms, ...plain), { minLength: 0, maxLength: 4 }).map((parts) => parts.join('')) },
  )
  const key = fc.tuple(fc.constantFrom('a', 'name', 'Z9', 'true', 'null'), fc.constantFrom('', 'x-y', 'x_y', '9', '-', '.', ':')).map(([a, b]) => a + b)
  const line = fc.oneof(
    { weight: 3, arbitrary: fc.tuple(key, fc.array(word, { minLength: 1, maxLength: 3 })).map(([k, v]) => `${k}: ${v.join(' ')}`) },
    fc.tuple(word, fc.constantFrom(': ', ': ', ': ', ':', ':  ', ' : '), fc.array(word, { maxLength: 4 })).map(([k, sep, v]) => `${k}${sep}${v.join(' ')}`),
    fc.constantFrom('', '# comment', '  indented: x', '---', '...'),
  )
  const doc = fc.array(line, { maxLength: 5 }).map((lines) => lines.join('\n'))
  let fast = 0
  fc.assert(
    fc.property(doc, (text) => {
      const got = parsePlainYaml(text)
      if (got === undefined) return
      fast++
      assert.equal(got, reference(text), JSON.stringify(text))
      assert.is(Object.getPrototypeOf(got), Object.getPrototypeOf(reference(text)))
    }),
    { numRuns: 3000 },
  )
  // The generator reaches the fast path, or the property says nothing.
  assert.ok(fast > 50, `fast path taken ${fast} times`)
})

test.run()
