// Which npm command a missing store driver's error advises: the running appr-core's own path
// tells a local install (the cwd's project or one above it) from a global one.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { installCommand, installKind } from '../../src/storage/driver.js'

const file = 'dist/adapters/redis/index.js'

test('a project install, seen from the project or a folder in it, is local', () => {
  assert.is(installKind(`/home/ann/app/node_modules/appr-core/${file}`, '/home/ann/app'), 'local')
  assert.is(installKind(`/home/ann/app/node_modules/appr-core/${file}`, '/home/ann/app/deploy/'), 'local')
  // A project folder named lib is still the project.
  assert.is(installKind(`/srv/lib/node_modules/appr-core/${file}`, '/srv/lib'), 'local')
  // Nested under another package of the project.
  assert.is(installKind(`/app/node_modules/tool/node_modules/appr-core/${file}`, '/app/node_modules/tool'), 'local')
  // A checkout runs from no node_modules at all.
  assert.is(installKind(`/work/appr-core/${file}`, '/tmp'), 'local')
})

test('a global prefix install, run from anywhere else, is global', () => {
  assert.is(installKind(`/usr/local/lib/node_modules/appr-core/${file}`, '/home/ann/app'), 'global')
  assert.is(installKind(`/home/ann/.nvm/versions/node/v20.11.0/lib/node_modules/appr-core/${file}`, '/'), 'global')
  assert.is(installKind(`C:\\Users\\ann\\AppData\\Roaming\\npm\\node_modules\\appr-core\\dist\\adapters\\redis\\index.js`, 'C:\\Users\\ann\\app'), 'global')
})

test("another project's install or npx's cache is unknown, and the advice then gives both forms", () => {
  assert.is(installKind(`/opt/tools/node_modules/appr-core/${file}`, '/home/ann'), 'unknown')
  assert.is(installKind(`/home/ann/.npm/_npx/1a2b3c/node_modules/appr-core/${file}`, '/home/ann/app'), 'unknown')
  assert.is(installCommand('ioredis', 'local'), 'npm install ioredis')
  assert.is(installCommand('ioredis', 'global'), 'npm install --global ioredis')
  const both = installCommand('etcd3', 'unknown')
  assert.match(both, 'npm install etcd3')
  assert.match(both, 'npm install --global etcd3')
})

test.run()
