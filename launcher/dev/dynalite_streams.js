// A local DynamoDB Streams, inside the dynalite process (dynalite has none). Preloaded by
// launcher/dev/localstack.py: `node -r dynalite_guard.js -r dynalite_streams.js cli.js ...`.
//
// Why in-process: a record must be written in the same step as the item, under dynalite's item
// lock, so that each change appears exactly once and an item's changes keep their order. So this
// module hooks dynalite's own modules before cli.js loads them (same require cache):
//   - db.create: wraps the store's getItemDb(...).put/del; for a stream-enabled table each write
//     reads the old item, writes, then appends one record (nothing when the item did not change);
//   - actions createTable/updateTable/deleteTable/describeTable/describeTimeToLive and the
//     createTable/updateTable validations: accept StreamSpecification and show the stream;
//   - http.createServer: the Streams API (X-Amz-Target DynamoDBStreams_20120810.*), UpdateTimeToLive
//     (dynalite lacks it) and the admin calls (DdbS3Local.*) are answered here, on dynalite's port,
//     before dynalite sees the request.
// State is in memory, like dynalite's tables (the stack never passes --path).
//
// AWS semantics kept: per-table streams with ARN .../stream/<ISO label>; a new ARN on each enable;
// ENABLING/ENABLED/DISABLING/DISABLED; >= 2 open shards, an item always in the open shard of its
// key's hash, so no order across shards; shards roll over (one child) or split (two children,
// halving the hash range) and are listed parents first; records trimmed after the retention, a
// closed, emptied shard disappears; shard iterators expire; ApproximateCreationDateTime in whole
// seconds; TTL deletes are REMOVE records with userIdentity dynamodb.amazonaws.com.
//
// Knobs (environment at start; all changeable at runtime with DdbS3Local.SetStreamKnobs):
//   DDB_S3_LOCAL_STREAM_SHARDS          open shards of a new stream (default 2; AWS: by throughput)
//   DDB_S3_LOCAL_STREAM_ROLLOVER_S      an open shard closes after this many seconds (default 3600; AWS ~4 h)
//   DDB_S3_LOCAL_STREAM_SPLIT           every Nth rollover of a stream is a split (default 4; 0: never;
//                                       a split that would pass MAX_OPEN_SHARDS (16) rolls over instead)
//   DDB_S3_LOCAL_STREAM_RETENTION_S     records older than this are trimmed (default 86400, as AWS)
//   DDB_S3_LOCAL_STREAM_ITERATOR_TTL_S  a shard iterator expires after this (default 900, as AWS)
//   DDB_S3_LOCAL_TTL_SWEEP_S            the TTL sweeper runs this often (default 60; AWS: within days)
//
// Admin calls (POST to the dynalite endpoint, X-Amz-Target, JSON body, no signature needed):
//   DdbS3Local.SetStreamKnobs  {"DDB_S3_LOCAL_STREAM_ROLLOVER_S": 1, ...} -> all knobs as they now are
//                              ({} reads them: a test saves them and restores them afterwards)
//   DdbS3Local.RollShards      {"TableName": "t", "Split": false} closes the table's open shards now,
//                              each with one child (or two with Split) -> {StreamArn, ClosedShardIds, NewShardIds}
//
// Not emulated: ENABLING/DISABLING last dynalite's createTableMs/updateTableMs, not minutes; the
// stream starts capturing at once; UpdateTimeToLive is ENABLED at once and may be toggled freely
// (AWS: ENABLING for up to an hour, one change per hour); GetRecords' 1 MB cap counts item sizes.
'use strict'

const crypto = require('crypto')
const fs = require('fs')
const http = require('http')
const path = require('path')

// dynalite's folder: cli.js is the main script (process.argv[1]); the require cache is keyed by
// real paths, so these are the very modules dynalite loads after us.
const DYNALITE = path.dirname(fs.realpathSync(process.argv[1]))
const dyn = (rel) => path.join(DYNALITE, rel)
const db = require(dyn('db'))
const Big = require(require.resolve('big.js', { paths: [ DYNALITE ] }))
const crc32 = require(require.resolve('buffer-crc32', { paths: [ DYNALITE ] }))

const STREAMS_API = 'DynamoDBStreams_20120810'
const ADMIN_API = 'DdbS3Local'
const VIEW_TYPES = [ 'KEYS_ONLY', 'NEW_IMAGE', 'OLD_IMAGE', 'NEW_AND_OLD_IMAGES' ]
// The Streams API's member names (botocore's Identity shape); Lambda's event JSON spells them type/principalId.
const TTL_IDENTITY = { PrincipalId: 'dynamodb.amazonaws.com', Type: 'Service' }
const HASH_SPACE = 2 ** 32 // a key hashes to a uint32; each open shard owns a range of it
const MAX_OPEN_SHARDS = 16 // splits stop here, so a long-running stack does not grow shards forever
const MAX_RECORDS_BYTES = 1024 * 1024 // GetRecords returns at most 1 MB
const TTL_MAX_AGE_S = 5 * 365 * 24 * 3600 // AWS ignores TTL values more than five years in the past

// ---------------------------------------------------------------------------------- knobs

const KNOB_DEFAULTS = {
  DDB_S3_LOCAL_STREAM_SHARDS: 2,
  DDB_S3_LOCAL_STREAM_ROLLOVER_S: 3600,
  DDB_S3_LOCAL_STREAM_SPLIT: 4,
  DDB_S3_LOCAL_STREAM_RETENTION_S: 86400,
  DDB_S3_LOCAL_STREAM_ITERATOR_TTL_S: 900,
  DDB_S3_LOCAL_TTL_SWEEP_S: 60,
}
const INTEGER_KNOBS = [ 'DDB_S3_LOCAL_STREAM_SHARDS', 'DDB_S3_LOCAL_STREAM_SPLIT' ]
const knobs = Object.assign({}, KNOB_DEFAULTS)

// The reason a knob value is refused, or null.
function knobProblem (name, value) {
  if (!(name in KNOB_DEFAULTS)) return 'unknown knob ' + name + ' (known: ' + Object.keys(KNOB_DEFAULTS).join(', ') + ')'
  if (typeof value != 'number' || !isFinite(value)) return name + ' must be a number, not ' + JSON.stringify(value)
  if (INTEGER_KNOBS.includes(name) && value % 1 !== 0) return name + ' must be a whole number'
  if (name == 'DDB_S3_LOCAL_STREAM_SPLIT' ? value < 0 : value <= 0) return name + ' must be above 0'
  if (name == 'DDB_S3_LOCAL_STREAM_SHARDS' && value > MAX_OPEN_SHARDS) return name + ' must be at most ' + MAX_OPEN_SHARDS
  return null
}

// A bad knob in the environment stops dynalite at start: the stack reports its stderr.
for (const name of Object.keys(KNOB_DEFAULTS)) {
  const raw = process.env[name]
  if (raw == null || raw === '') continue
  const problem = knobProblem(name, Number(raw))
  if (problem) {
    console.error('dynalite_streams: ' + problem)
    process.exit(2)
  }
  knobs[name] = Number(raw)
}

// ---------------------------------------------------------------------------------- errors

function awsError (type, message, prefix) {
  const err = new Error(message)
  err.statusCode = 400
  err.body = { __type: (prefix || 'com.amazonaws.dynamodb.v20120810#') + type, message: message }
  return err
}
const validationError = (message) => awsError('ValidationException', message, 'com.amazon.coral.validate#')
const notFound = (message) => awsError('ResourceNotFoundException', 'Requested resource not found: ' + message)

// ---------------------------------------------------------------------------------- state

let store = null // dynalite's store, caught in db.create
const tables = new Map() // table name -> { keySchema, stream (the latest, or null), ttlAttribute }
const streams = [] // every stream still kept, in creation order (ListStreams' order)
const labelMs = new Map() // table name -> the ms of its last stream label (labels must differ)
let sequence = 10n ** 20n // the last sequence number handed out: 21 digits, increasing
let shardCounter = 0 // shard ids end with it in hex: their string order is their creation order
let streamCounter = 0

const nextSequence = () => ++sequence

function tableEntry (name, keySchema) {
  if (!tables.has(name)) tables.set(name, { keySchema: keySchema, stream: null, ttlAttribute: null })
  return tables.get(name)
}

function streamStatus (stream, now) {
  if (stream.disabledMs == null) return now < stream.readyMs ? 'ENABLING' : 'ENABLED'
  return now < stream.disabledMs + store.options.updateTableMs ? 'DISABLING' : 'DISABLED'
}

function findStream (arn) {
  const stream = streams.find((s) => s.arn === arn)
  if (!stream) throw notFound('Stream: ' + arn + ' not found')
  return stream
}

function createStream (tableName, keySchema, viewType, delayMs, now) {
  // The label is the enabling time to the ms (AWS: 2026-12-07T02:35:31.123); two streams of one
  // table enabled in the same ms still get different labels.
  const ms = Math.max(now, (labelMs.get(tableName) || 0) + 1)
  labelMs.set(tableName, ms)
  const label = new Date(ms).toISOString().slice(0, -1)
  const stream = {
    n: ++streamCounter,
    arn: 'arn:aws:dynamodb:' + store.tableDb.awsRegion + ':' + store.tableDb.awsAccountId + ':table/' + tableName + '/stream/' + label,
    label: label,
    tableName: tableName,
    keySchema: keySchema,
    viewType: viewType,
    createdMs: now,
    readyMs: now + delayMs,
    disabledMs: null,
    rollovers: 0,
    shards: [],
  }
  const count = knobs.DDB_S3_LOCAL_STREAM_SHARDS
  for (let i = 0; i < count; i++) {
    openShard(stream, null, Math.floor(i * HASH_SPACE / count), Math.floor((i + 1) * HASH_SPACE / count), now)
  }
  streams.push(stream)
  return stream
}

function openShard (stream, parent, lo, hi, now) {
  const shard = {
    id: 'shardId-' + String(now).padStart(20, '0') + '-' + (++shardCounter).toString(16).padStart(8, '0'),
    parentId: parent ? parent.id : null,
    lo: lo, // owns the key hashes lo <= h < hi while open
    hi: hi,
    start: nextSequence(), // below every record of the shard
    end: null, // set when closed: above every record of the shard
    createdMs: now,
    closedMs: null,
    records: [], // { seq, ms, record }, in sequence order; trimmed from the front
    trimmedUpTo: null, // the sequence number of the last trimmed record
  }
  stream.shards.push(shard)
  return shard
}

function closeShard (shard, now) {
  shard.end = nextSequence()
  shard.closedMs = now
}

const openShards = (stream) => stream.shards.filter((s) => s.end == null)

// Close every open shard; each gets one child with its hash range, or with `split` two halves.
function roll (stream, split, now) {
  const open = openShards(stream)
  if (split && open.length * 2 > MAX_OPEN_SHARDS) split = false
  const closed = [], opened = []
  for (const shard of open) {
    closeShard(shard, now)
    closed.push(shard.id)
    if (split) {
      const mid = Math.floor((shard.lo + shard.hi) / 2)
      opened.push(openShard(stream, shard, shard.lo, mid, now).id, openShard(stream, shard, mid, shard.hi, now).id)
    }
    else {
      opened.push(openShard(stream, shard, shard.lo, shard.hi, now).id)
    }
  }
  return { ClosedShardIds: closed, NewShardIds: opened }
}

// Time passes lazily: rollover and trimming happen when someone looks (any Streams call) or writes.
function maintain (stream, now) {
  if (stream.disabledMs == null) {
    const open = openShards(stream)
    if (open.length && now - open[0].createdMs >= knobs.DDB_S3_LOCAL_STREAM_ROLLOVER_S * 1000) {
      stream.rollovers++
      const every = knobs.DDB_S3_LOCAL_STREAM_SPLIT
      roll(stream, every > 0 && stream.rollovers % every === 0, now)
    }
  }
  const horizon = now - knobs.DDB_S3_LOCAL_STREAM_RETENTION_S * 1000
  for (const shard of stream.shards) {
    let n = 0
    while (n < shard.records.length && shard.records[n].ms <= horizon) n++
    if (n) {
      shard.trimmedUpTo = shard.records[n - 1].seq
      shard.records.splice(0, n)
    }
  }
  // A closed shard with nothing left, closed longer ago than the retention, is gone.
  stream.shards = stream.shards.filter((s) => !(s.end != null && !s.records.length && s.closedMs <= horizon))
}

function maintainAll (now) {
  for (const stream of streams) maintain(stream, now)
  // A disabled stream whose shards are all gone is gone too.
  for (let i = streams.length - 1; i >= 0; i--) {
    if (streams[i].disabledMs != null && !streams[i].shards.length) streams.splice(i, 1)
  }
}

function disableStream (stream, now) {
  if (stream.disabledMs != null) return
  stream.disabledMs = now
  for (const shard of openShards(stream)) closeShard(shard, now)
}

// ---------------------------------------------------------------------------------- records

// Items compare as DynamoDB sees them: sets unordered, numbers by value, maps by key.
function canonical (value) {
  if (Array.isArray(value)) return value.map(canonical)
  if (value == null || typeof value != 'object') return value
  const out = {}
  for (const key of Object.keys(value).sort()) {
    const v = value[key]
    if (key == 'N') out.N = new Big(v).toFixed()
    else if (key == 'NS') out.NS = v.map((n) => new Big(n).toFixed()).sort()
    else if (key == 'SS' || key == 'BS') out[key] = v.slice().sort()
    else out[key] = canonical(v)
  }
  return out
}
const sameItem = (a, b) => JSON.stringify(canonical(a)) === JSON.stringify(canonical(b))
const copy = (value) => JSON.parse(JSON.stringify(value))

function keyHash (key) {
  return crypto.createHash('md5').update(key).digest().readUInt32BE(0)
}

// Append the record of one write (called under the item's lock, after the write succeeded).
function capture (tableName, key, oldItem, newItem, identity) {
  const entry = tables.get(tableName)
  const stream = entry && entry.stream
  if (!stream || stream.disabledMs != null) return
  if (!oldItem && !newItem) return // deleting a missing item changes nothing
  if (oldItem && newItem && sameItem(oldItem, newItem)) return // nor does writing the same item
  const now = Date.now()
  maintain(stream, now)
  const h = keyHash(key)
  const shard = openShards(stream).find((s) => s.lo <= h && h < s.hi)
  const item = newItem || oldItem
  const keys = {}
  for (const k of stream.keySchema) keys[k.AttributeName] = copy(item[k.AttributeName])
  const view = stream.viewType
  const seq = nextSequence()
  const dynamodb = { ApproximateCreationDateTime: Math.floor(now / 1000), Keys: keys }
  let size = db.itemSize(keys)
  if (newItem && (view == 'NEW_IMAGE' || view == 'NEW_AND_OLD_IMAGES')) {
    dynamodb.NewImage = copy(newItem)
    size += db.itemSize(newItem)
  }
  if (oldItem && (view == 'OLD_IMAGE' || view == 'NEW_AND_OLD_IMAGES')) {
    dynamodb.OldImage = copy(oldItem)
    size += db.itemSize(oldItem)
  }
  dynamodb.SequenceNumber = seq.toString()
  dynamodb.SizeBytes = size
  dynamodb.StreamViewType = view
  const record = {
    eventID: crypto.randomBytes(16).toString('hex'),
    eventName: !oldItem ? 'INSERT' : !newItem ? 'REMOVE' : 'MODIFY',
    eventVersion: '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: store.tableDb.awsRegion,
    dynamodb: dynamodb,
  }
  if (identity) record.userIdentity = identity
  shard.records.push({ seq: seq, ms: now, size: size, record: record })
}

// Every put/del of an item goes through here. Actions call them under the item's lock, so the
// extra read sees the item as it is just before this write.
function hookItemDb (tableName, itemDb) {
  const put = itemDb.put, del = itemDb.del
  const capturing = () => {
    const entry = tables.get(tableName)
    return entry && entry.stream && entry.stream.disabledMs == null
  }
  itemDb.rawDel = del
  itemDb.put = function (key, item, cb) {
    if (!capturing()) return put(key, item, cb)
    itemDb.get(key, function (err, oldItem) {
      if (err) return cb(err)
      put(key, item, function (err) {
        if (!err) capture(tableName, key, oldItem || null, item, null)
        cb(err)
      })
    })
  }
  itemDb.del = function (key, cb) {
    if (!capturing()) return del(key, cb)
    itemDb.get(key, function (err, oldItem) {
      if (err) return cb(err)
      del(key, function (err) {
        if (!err) capture(tableName, key, oldItem || null, null, null)
        cb(err)
      })
    })
  }
  itemDb.streamsHooked = true
}

const createStore = db.create
db.create = function (options) {
  store = createStore(options)
  const getItemDb = store.getItemDb
  store.getItemDb = function (name) {
    const itemDb = getItemDb(name)
    if (!itemDb.streamsHooked) hookItemDb(name, itemDb)
    return itemDb
  }
  scheduleSweep()
  return store
}

// ---------------------------------------------------------------------------------- table actions

// Replace an action module's export before dynalite's index.js requires it.
function wrapAction (name, wrap) {
  const file = require.resolve(dyn('actions/' + name))
  const original = require(file)
  require.cache[file].exports = wrap(original)
}

const STREAM_SPECIFICATION_TYPE = {
  type: 'FieldStruct<StreamSpecification>',
  children: {
    StreamEnabled: { type: 'Boolean', notNull: true },
    StreamViewType: { type: 'String', enum: VIEW_TYPES },
  },
}
require(dyn('validations/createTable')).types.StreamSpecification = STREAM_SPECIFICATION_TYPE
const updateTableValidation = require(dyn('validations/updateTable'))
updateTableValidation.types.StreamSpecification = STREAM_SPECIFICATION_TYPE
// dynalite asks for "at least one change" by its own field name; a StreamSpecification is one.
const updateTableCustom = updateTableValidation.custom
updateTableValidation.custom = function (data, s) {
  return updateTableCustom(Object.assign({}, data, { UpdateStreamEnabled: data.UpdateStreamEnabled || !!data.StreamSpecification }), s)
}

function specProblem (spec) {
  if (spec.StreamEnabled && !spec.StreamViewType) {
    return 'One or more parameter values were invalid: StreamViewType is required when StreamEnabled is true'
  }
  if (!spec.StreamEnabled && spec.StreamViewType) {
    return 'One or more parameter values were invalid: Disabling streams does not take a StreamViewType'
  }
  return null
}

// The table description with the stream fields of now (DescribeTable and the Create/Update/Delete answers).
function withStream (description, name) {
  const out = Object.assign({}, description)
  delete out.StreamSpecification
  delete out.LatestStreamArn
  delete out.LatestStreamLabel
  const stream = (tables.get(name) || {}).stream
  if (stream) {
    if (stream.disabledMs == null) out.StreamSpecification = { StreamEnabled: true, StreamViewType: stream.viewType }
    out.LatestStreamArn = stream.arn
    out.LatestStreamLabel = stream.label
  }
  return out
}

wrapAction('createTable', (createTable) => function (s, data, cb) {
  const spec = data.StreamSpecification
  delete data.StreamSpecification // kept here, not in dynalite's table
  const problem = spec && specProblem(spec)
  if (problem) return cb(validationError(problem))
  createTable(s, data, function (err, res) {
    if (err) return cb(err)
    tables.delete(data.TableName) // a new table of an old name starts afresh
    const entry = tableEntry(data.TableName, copy(data.KeySchema))
    if (spec && spec.StreamEnabled) {
      entry.stream = createStream(data.TableName, entry.keySchema, spec.StreamViewType, s.options.createTableMs, Date.now())
    }
    cb(null, { TableDescription: withStream(res.TableDescription, data.TableName) })
  })
})

wrapAction('updateTable', (updateTable) => function (s, data, cb) {
  const spec = data.StreamSpecification
  delete data.StreamSpecification
  if (!spec) return updateTable(s, data, (err, res) => err ? cb(err) : cb(null, { TableDescription: withStream(res.TableDescription, data.TableName) }))
  const problem = specProblem(spec)
  if (problem) return cb(validationError(problem))
  s.getTable(data.TableName, false, function (err, table) {
    if (err) return cb(err)
    // AWS: one enabled stream at a time (a new view type needs a disable first), nothing to disable without one.
    const stream = (tables.get(data.TableName) || {}).stream
    const enabled = stream && stream.disabledMs == null
    if (spec.StreamEnabled && enabled) return cb(validationError('Table already has an enabled stream: TableName: ' + data.TableName))
    if (!spec.StreamEnabled && !enabled) return cb(validationError('Table does not have an enabled stream: TableName: ' + data.TableName))
    updateTable(s, data, function (err, res) {
      if (err) return cb(err)
      const entry = tableEntry(data.TableName, copy(table.KeySchema))
      const now = Date.now()
      if (!!(entry.stream && entry.stream.disabledMs == null) !== !!enabled) {
        // Another UpdateTable changed the stream meanwhile: the first one wins, as on AWS.
        return cb(awsError('ResourceInUseException', 'Attempt to change a resource which is still in use: Table is being updated: ' + data.TableName))
      }
      if (spec.StreamEnabled) {
        entry.stream = createStream(data.TableName, entry.keySchema, spec.StreamViewType, s.options.updateTableMs, now)
      }
      else {
        disableStream(entry.stream, now) // its records stay readable until the retention
      }
      cb(null, { TableDescription: withStream(res.TableDescription, data.TableName) })
    })
  })
})

wrapAction('deleteTable', (deleteTable) => function (s, data, cb) {
  deleteTable(s, data, function (err, res) {
    if (err) return cb(err)
    const description = withStream(res.TableDescription, data.TableName)
    const entry = tables.get(data.TableName)
    if (entry && entry.stream) disableStream(entry.stream, Date.now())
    tables.delete(data.TableName)
    cb(null, { TableDescription: description })
  })
})

wrapAction('describeTable', (describeTable) => function (s, data, cb) {
  describeTable(s, data, (err, res) => err ? cb(err) : cb(null, { Table: withStream(res.Table, data.TableName) }))
})

wrapAction('describeTimeToLive', (describeTimeToLive) => function (s, data, cb) {
  describeTimeToLive(s, data, function (err) {
    if (err) return cb(err)
    const attribute = (tables.get(data.TableName) || {}).ttlAttribute
    cb(null, { TimeToLiveDescription: attribute ? { TimeToLiveStatus: 'ENABLED', AttributeName: attribute } : { TimeToLiveStatus: 'DISABLED' } })
  })
})

// ---------------------------------------------------------------------------------- TTL

function updateTimeToLive (data, cb) {
  const spec = data.TimeToLiveSpecification
  if (typeof data.TableName != 'string') return cb(validationError('The parameter \'TableName\' is required but was not present in the request'))
  if (!spec || typeof spec.Enabled != 'boolean' || typeof spec.AttributeName != 'string' || !spec.AttributeName.length || spec.AttributeName.length > 255) {
    return cb(validationError('1 validation error detected: TimeToLiveSpecification must have Enabled (boolean) and AttributeName (1 to 255 characters)'))
  }
  store.getTable(data.TableName, false, function (err, table) {
    if (err) return cb(err)
    const entry = tableEntry(data.TableName, copy(table.KeySchema))
    if (spec.Enabled && entry.ttlAttribute) return cb(validationError('TimeToLive is already enabled'))
    if (!spec.Enabled && !entry.ttlAttribute) return cb(validationError('TimeToLive is already disabled'))
    if (!spec.Enabled && entry.ttlAttribute != spec.AttributeName) {
      return cb(validationError('The AttributeName ' + spec.AttributeName + ' does not match the enabled TimeToLive attribute ' + entry.ttlAttribute))
    }
    entry.ttlAttribute = spec.Enabled ? spec.AttributeName : null
    cb(null, { TimeToLiveSpecification: { Enabled: spec.Enabled, AttributeName: spec.AttributeName } })
  })
}

const promised = (fn) => new Promise((resolve, reject) => fn((err, value) => err ? reject(err) : resolve(value)))

function ttlExpired (item, attribute, nowS) {
  const value = item && item[attribute] && item[attribute].N
  if (value == null) return false // only a Number is a TTL
  const at = Number(value)
  return at < nowS && at > nowS - TTL_MAX_AGE_S
}

// Delete the expired items of one table, each under its lock, as the service does (a REMOVE record
// with userIdentity, through the raw del so the record is not written twice).
async function sweepTable (name, attribute) {
  let table
  try {
    table = await promised((cb) => store.getTable(name, true, cb)) // true: not while CREATING/DELETING
  }
  catch {
    return
  }
  const itemDb = store.getItemDb(name)
  const items = await promised((cb) => db.lazy(itemDb.createValueStream(), cb).join((all) => cb(null, all)))
  for (const found of items) {
    if (!ttlExpired(found, attribute, Date.now() / 1000)) continue
    const key = db.createKey(found, table)
    await new Promise((resolve) => itemDb.lock(key, function (release) {
      const done = release(resolve)
      itemDb.get(key, function (err, item) {
        if (err || !ttlExpired(item, attribute, Date.now() / 1000)) return done()
        db.updateIndexes(store, table, item, null, function (err) {
          if (err) return done()
          itemDb.rawDel(key, function (err) {
            if (!err) capture(name, key, item, null, TTL_IDENTITY)
            done()
          })
        })
      })
    }))
  }
}

let sweepTimer = null
function scheduleSweep () {
  clearTimeout(sweepTimer)
  sweepTimer = setTimeout(async function () {
    for (const [ name, entry ] of Array.from(tables)) {
      if (!entry.ttlAttribute) continue
      try {
        await sweepTable(name, entry.ttlAttribute)
      }
      catch (err) {
        console.error('dynalite_streams: TTL sweep of ' + name + ' failed: ' + (err.stack || err))
      }
    }
    scheduleSweep()
  }, knobs.DDB_S3_LOCAL_TTL_SWEEP_S * 1000)
  sweepTimer.unref()
}

// ---------------------------------------------------------------------------------- Streams API

function checkLimit (value, max) {
  if (value == null) return max
  if (typeof value != 'number' || value % 1 !== 0) throw validationError('Limit must be a whole number')
  if (value < 1) throw validationError('1 validation error detected: Value \'' + value + '\' at \'limit\' failed to satisfy constraint: Member must have value greater than or equal to 1')
  if (value > max) throw validationError('1 validation error detected: Value \'' + value + '\' at \'limit\' failed to satisfy constraint: Member must have value less than or equal to ' + max)
  return value
}

function parseSequence (value) {
  if (typeof value != 'string' || !/^\d{21,40}$/.test(value)) throw validationError('Invalid SequenceNumber: ' + JSON.stringify(value))
  return BigInt(value)
}

// An iterator is "<stream arn>|1|<base64 of {shard, after, issued}>": it reads the records with a
// sequence number above `after`; it carries its own issue time, for the TTL.
function encodeIterator (stream, shard, after, now) {
  return stream.arn + '|1|' + Buffer.from(JSON.stringify({ s: shard.id, a: after.toString(), t: now })).toString('base64')
}

function decodeIterator (text) {
  const at = typeof text == 'string' ? text.lastIndexOf('|1|') : -1
  try {
    const inner = JSON.parse(Buffer.from(text.slice(at + 3), 'base64').toString())
    if (at < 0 || typeof inner.s != 'string' || typeof inner.t != 'number') throw new Error()
    return { arn: text.slice(0, at), shardId: inner.s, after: BigInt(inner.a), issuedMs: inner.t }
  }
  catch {
    throw validationError('Invalid ShardIterator')
  }
}

function trimmedError (shard) {
  return awsError('TrimmedDataAccessException', 'Attempted to access data past the trim horizon of shard ' + shard.id +
    ': records up to sequence number ' + shard.trimmedUpTo + ' are older than the retention period')
}

function streamSummary (stream) {
  return { StreamArn: stream.arn, TableName: stream.tableName, StreamLabel: stream.label }
}

const streamsApi = {
  ListStreams (data) {
    maintainAll(Date.now())
    const limit = checkLimit(data.Limit, 100)
    let list = streams.filter((s) => data.TableName == null || s.tableName === data.TableName)
    if (data.ExclusiveStartStreamArn != null) {
      const start = findStream(data.ExclusiveStartStreamArn)
      list = list.filter((s) => s.n > start.n)
    }
    const out = { Streams: list.slice(0, limit).map(streamSummary) }
    if (list.length > limit) out.LastEvaluatedStreamArn = list[limit - 1].arn
    return out
  },

  DescribeStream (data) {
    const now = Date.now()
    maintainAll(now)
    const stream = findStream(data.StreamArn)
    const limit = checkLimit(data.Limit, 100)
    let shards = stream.shards
    if (data.ExclusiveStartShardId != null) shards = shards.filter((s) => s.id > data.ExclusiveStartShardId)
    const description = {
      StreamArn: stream.arn,
      StreamLabel: stream.label,
      StreamStatus: streamStatus(stream, now),
      StreamViewType: stream.viewType,
      CreationRequestDateTime: stream.createdMs / 1000,
      TableName: stream.tableName,
      KeySchema: copy(stream.keySchema),
      Shards: shards.slice(0, limit).map(function (shard) {
        const range = { StartingSequenceNumber: shard.start.toString() }
        if (shard.end != null) range.EndingSequenceNumber = shard.end.toString()
        const out = { ShardId: shard.id, SequenceNumberRange: range }
        if (shard.parentId) out.ParentShardId = shard.parentId
        return out
      }),
    }
    if (shards.length > limit) description.LastEvaluatedShardId = shards[limit - 1].id
    return { StreamDescription: description }
  },

  GetShardIterator (data) {
    const now = Date.now()
    maintainAll(now)
    const stream = findStream(data.StreamArn)
    const shard = stream.shards.find((s) => s.id === data.ShardId)
    if (!shard) throw notFound('Shard: ' + data.ShardId + ' in stream ' + stream.arn + ' not found')
    const horizon = shard.trimmedUpTo != null && shard.trimmedUpTo > shard.start ? shard.trimmedUpTo : shard.start
    const last = shard.records.length ? shard.records[shard.records.length - 1].seq : horizon
    let after
    switch (data.ShardIteratorType) {
    case 'TRIM_HORIZON':
      after = horizon
      break
    case 'LATEST':
      after = shard.end != null ? shard.end : last
      break
    case 'AT_SEQUENCE_NUMBER':
    case 'AFTER_SEQUENCE_NUMBER': {
      if (data.SequenceNumber == null) throw validationError('SequenceNumber is required for ShardIteratorType ' + data.ShardIteratorType)
      const seq = parseSequence(data.SequenceNumber)
      if (seq < shard.start || (shard.end != null && seq > shard.end)) {
        throw validationError('Invalid SequenceNumber ' + data.SequenceNumber + ' for shard ' + shard.id)
      }
      after = data.ShardIteratorType == 'AT_SEQUENCE_NUMBER' ? seq - 1n : seq
      if (shard.trimmedUpTo != null && after < shard.trimmedUpTo) throw trimmedError(shard)
      break
    }
    default:
      throw validationError('1 validation error detected: Value \'' + data.ShardIteratorType + '\' at \'shardIteratorType\' failed to satisfy constraint: ' +
        'Member must satisfy enum value set: [TRIM_HORIZON, LATEST, AT_SEQUENCE_NUMBER, AFTER_SEQUENCE_NUMBER]')
    }
    return { ShardIterator: encodeIterator(stream, shard, after, now) }
  },

  GetRecords (data) {
    const now = Date.now()
    const limit = checkLimit(data.Limit, 1000)
    const it = decodeIterator(data.ShardIterator)
    const ttlMs = knobs.DDB_S3_LOCAL_STREAM_ITERATOR_TTL_S * 1000
    if (now - it.issuedMs > ttlMs) {
      throw awsError('ExpiredIteratorException', 'Iterator expired. The iterator was created at time ' + new Date(it.issuedMs).toISOString() +
        ' while right now it is ' + new Date(now).toISOString() + ' which is further in the future than the tolerated delay of ' + ttlMs + ' milliseconds.')
    }
    maintainAll(now)
    const stream = findStream(it.arn)
    const shard = stream.shards.find((s) => s.id === it.shardId)
    if (!shard) throw notFound('Shard: ' + it.shardId + ' in stream ' + stream.arn + ' not found')
    if (shard.trimmedUpTo != null && it.after < shard.trimmedUpTo) throw trimmedError(shard)
    // The first record above `after` (records are in sequence order).
    let lo = 0, hi = shard.records.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (shard.records[mid].seq <= it.after) lo = mid + 1
      else hi = mid
    }
    const records = []
    let bytes = 0, after = it.after
    for (let i = lo; i < shard.records.length && records.length < limit; i++) {
      const r = shard.records[i]
      if (records.length && bytes + r.size > MAX_RECORDS_BYTES) break
      bytes += r.size
      records.push(r.record)
      after = r.seq
    }
    const out = { Records: records }
    const atEnd = !shard.records.length || shard.records[shard.records.length - 1].seq <= after
    // A closed shard read to its end has no next iterator: the reader moves on to its children.
    if (!(shard.end != null && atEnd)) out.NextShardIterator = encodeIterator(stream, shard, after, now)
    return out
  },
}

// ---------------------------------------------------------------------------------- admin API

const adminApi = {
  SetStreamKnobs (data) {
    for (const [ name, value ] of Object.entries(data)) {
      const problem = knobProblem(name, value)
      if (problem) throw validationError(problem)
    }
    Object.assign(knobs, data)
    if ('DDB_S3_LOCAL_TTL_SWEEP_S' in data) scheduleSweep()
    return Object.assign({}, knobs)
  },

  RollShards (data) {
    const entry = tables.get(data.TableName)
    const stream = entry && entry.stream
    if (!stream || stream.disabledMs != null) throw notFound('Table: ' + data.TableName + ' has no enabled stream')
    const now = Date.now()
    maintain(stream, now)
    return Object.assign({ StreamArn: stream.arn }, roll(stream, !!data.Split, now))
  },
}

// ---------------------------------------------------------------------------------- HTTP

function send (res, status, body) {
  const text = JSON.stringify(body)
  res.statusCode = status
  res.setHeader('x-amzn-RequestId', crypto.randomBytes(26).toString('hex').toUpperCase())
  res.setHeader('x-amz-crc32', crc32.unsigned(text)) // botocore checks it, as with dynalite's answers
  res.setHeader('Content-Type', 'application/x-amz-json-1.0')
  res.setHeader('Content-Length', Buffer.byteLength(text))
  res.end(text)
}

function serve (req, res, run) {
  const chunks = []
  req.on('data', (chunk) => chunks.push(chunk))
  req.on('end', function () {
    let data
    try {
      data = JSON.parse(Buffer.concat(chunks).toString() || '{}')
      if (data == null || typeof data != 'object' || Array.isArray(data)) throw new Error()
    }
    catch {
      return send(res, 400, { __type: 'com.amazon.coral.service#SerializationException' })
    }
    const reply = (err, body) => {
      if (err && err.statusCode) return send(res, err.statusCode, err.body)
      if (err) {
        console.error('dynalite_streams: ' + (err.stack || err))
        return send(res, 500, { __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError', message: String(err.message || err) })
      }
      send(res, 200, body)
    }
    try {
      run(data, reply)
    }
    catch (err) {
      reply(err)
    }
  })
}

const missingSignature = (data, reply) => reply(awsError('MissingAuthenticationTokenException', 'Request is missing Authentication Token', 'com.amazon.coral.service#'))

// The handler to serve a request with here, or null for dynalite.
function ownHandler (req) {
  const [ api, op ] = String(req.headers['x-amz-target'] || '').split('.')
  if (req.method != 'POST') return null
  // AWS's calls must be signed, as dynalite demands too (the admin calls need not be).
  const signed = /^AWS4-/.test(String(req.headers.authorization || '').trim()) || /[?&]X-Amz-Algorithm=/.test(req.url)
  if (api === STREAMS_API || (api === 'DynamoDB_20120810' && op === 'UpdateTimeToLive')) {
    if (!signed) return missingSignature
  }
  if (api === STREAMS_API) {
    if (!Object.hasOwn(streamsApi, op)) return (data, reply) => reply(awsError('UnknownOperationException', '', 'com.amazon.coral.service#'))
    return (data, reply) => reply(null, streamsApi[op](data))
  }
  if (api === ADMIN_API && Object.hasOwn(adminApi, op)) return (data, reply) => reply(null, adminApi[op](data))
  if (api === 'DynamoDB_20120810' && op === 'UpdateTimeToLive') return updateTimeToLive
  return null
}

const createServer = http.createServer
http.createServer = function (...args) {
  const i = args.findIndex((a) => typeof a == 'function')
  const dynaliteHandler = args[i]
  args[i] = function (req, res) {
    const own = ownHandler(req)
    if (own) return serve(req, res, own)
    dynaliteHandler(req, res)
  }
  return createServer.apply(http, args)
}
