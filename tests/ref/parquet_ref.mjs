// parquet_ref.mjs — writes Parquet files with independent writers (DuckDB,
// hyparquet-writer) and the rows their own readers see, as JSON lines, for
// tests/unit/test_parquet.c. Usage: node parquet_ref.mjs OUTDIR
//
// Every file NAME.parquet gets NAME.expected.jsonl: one JSON object per row,
// produced by the oracle (DuckDB's to_json of the row, or hyparquet's rows),
// which rgsd's rows must equal exactly. manifest.txt lists the cases with
// the encodings and codecs the file really uses (from DuckDB's
// parquet_metadata), so the test can say what it covered.
import { DuckDBInstance } from '@duckdb/node-api';
import { parquetReadObjects } from 'hyparquet';
import { parquetWriteBuffer } from 'hyparquet-writer';
import fs from 'node:fs';
import path from 'node:path';

const out = process.argv[2];
fs.mkdirSync(out, { recursive: true });
const inst = await DuckDBInstance.create(':memory:', { threads: '1' });
const c = await inst.connect();
const rows = async (sql) => (await c.runAndReadAll(sql)).getRowObjectsJson();
const manifest = [];

async function describe(file) {
  const m = await rows(`select string_agg(distinct encodings, ',') as e, string_agg(distinct compression, ',') as z,
                        count(distinct row_group_id) as g from parquet_metadata('${file}')`);
  return `encodings=${m[0].e.replaceAll(' ', '')} codec=${m[0].z} row_groups=${m[0].g}`;
}

async function expectDuck(name) {
  const file = path.join(out, `${name}.parquet`);
  const r = await rows(`select to_json(t)::varchar as j from read_parquet('${file}') t`);
  fs.writeFileSync(path.join(out, `${name}.expected.jsonl`), r.map((x) => x.j + '\n').join(''));
  manifest.push(`${name} rows=${r.length} ${await describe(file)}`);
}

// The mixed table: rubric-shaped nesting with nulls at every level, empty
// lists, UTF-8 edge cases, unsigned and signed integers, booleans, doubles.
await c.run(`create table mixed as select
  i::bigint as id,
  case when i % 7 = 0 then null
       when i % 7 = 1 then ''
       when i % 7 = 2 then 'ünïcödé ✓ 😀 ' || i
       when i % 7 = 3 then chr(1114111) || chr(55295) || chr(57344) || ' e' || chr(769) || ' ' || i
       when i % 7 = 4 then 'quote " backslash \\ tab ' || chr(9) || ' newline ' || chr(10) || i
       else 'plain ' || i end as text,
  case when i % 5 = 0 then null else i % 3 = 0 end as flag,
  case when i % 6 = 0 then null else (i * 0.25 - 40)::double end as score,
  case when i % 4 = 0 then null else (i * 7 - 1000)::integer end as i32,
  (4000000000 + i)::uinteger as u32,
  (i * 1000003)::bigint - 9007199254740 as i64,
  case when i % 11 = 0 then null when i % 13 = 0 then [] else
    list_transform(range(i % 4 + 1), j -> {'role': case when j % 2 = 0 then 'user' else 'assistant' end,
                                            'content': case when (i + j) % 9 = 0 then null else 'turn ' || j || ' of ' || i end})
  end as prompt,
  case when i % 17 = 0 then null else {
    'ground_truth': case when i % 3 = 0 then null else 'gt' || i end,
    'rubrics': case when i % 19 = 0 then null when i % 23 = 0 then [] else
      list_transform(range(i % 5 + 1), j -> case when (i + j) % 29 = 0 then null else {
        'criterion': 'criterion ' || j || ' of example ' || i,
        'points': case when (i + j) % 31 = 0 then null else (j * 2.5 - 3)::double end,
        'tags': case when (i + j) % 10 = 0 then null when (i + j) % 10 = 1 then [] else
                  list_transform(range((i + j) % 3 + 1), k -> case when k = 2 and i % 2 = 0 then null else 'axis:' || k end) end
      } end) end
  } end as reward_model,
  case when i % 8 = 0 then null else [[i, i + 1], [], null, [null, i]] end as nested
  from range(600) r(i)`);

const codecs = ['uncompressed', 'snappy', 'gzip', 'zstd', 'lz4', 'brotli'];
for (const codec of codecs) {
  for (const v of ['v1', 'v2']) {
    const name = `duck_${codec}_${v}`;
    await c.run(`copy mixed to '${path.join(out, name + '.parquet')}'
                 (format parquet, compression ${codec}, parquet_version ${v}, row_group_size 256)`);
    await expectDuck(name);
  }
}

// Many distinct long strings: the dictionary overflows and the writer falls
// back to plain (v1) or delta (v2) encodings part-way through a column;
// several row groups.
await c.run(`create table big as select i::integer as id,
  repeat(chr((97 + i % 26)::integer), 40) || '-' || md5(i::varchar) || md5((i * 7)::varchar) as s,
  md5((i % 50)::varchar) as few,
  list_transform(range(i % 3), j -> md5((i * 10 + j)::varchar)) as l
  from range(30000) r(i)`);
for (const v of ['v1', 'v2']) {
  const name = `duck_big_${v}`;
  await c.run(`copy big to '${path.join(out, name + '.parquet')}' (format parquet, compression snappy,
               parquet_version ${v}, row_group_size 10000)`);
  await expectDuck(name);
}

// The normaliser sees Parquet rows as it sees JSONL lines: a verl-shaped file
// whose criterion is a number must fail with the row and the field named.
await c.run(`copy (select [{'role': 'user', 'content': 'hi'}] as prompt,
  {'rubrics': [{'criterion': case when i = 2 then null else 'ok' end, 'points': 1.0::double}]} as reward_model
  from range(4) r(i)) to '${path.join(out, 'verl_bad_criterion.parquet')}' (format parquet)`);
await expectDuck('verl_bad_criterion');

// An independent writer and reader: hyparquet-writer writes, hyparquet reads.
// FLOAT lives here (DuckDB's to_json prints floats as shortest float text,
// not as the double they are).
{
  const n = 300;
  const data = [
    { name: 'f32', data: Float32Array.from({ length: n }, (_, i) => i * 0.1 - 7.3), type: 'FLOAT' },
    { name: 'f64', data: Array.from({ length: n }, (_, i) => (i % 9 === 0 ? null : i / 7)), type: 'DOUBLE' },
    { name: 'label', data: Array.from({ length: n }, (_, i) => (i % 5 === 0 ? null : `label ${i % 12} ✓`)), type: 'STRING' },
    { name: 'ok', data: Array.from({ length: n }, (_, i) => i % 3 === 0), type: 'BOOLEAN' },
    { name: 'n32', data: Array.from({ length: n }, (_, i) => i * 3 - 400), type: 'INT32' },
    { name: 'n64', data: Array.from({ length: n }, (_, i) => BigInt(i) * 1000000007n), type: 'INT64' },
  ];
  const buf = parquetWriteBuffer({ columnData: data, rowGroupSize: 128 });
  const name = 'hyparquet_flat';
  const file = path.join(out, `${name}.parquet`);
  fs.writeFileSync(file, Buffer.from(buf));
  const ab = buf instanceof ArrayBuffer ? buf : buf.buffer;
  const objs = await parquetReadObjects({ file: ab });
  const conv = (k, v) => (typeof v === 'bigint' ? Number(v) : v);
  fs.writeFileSync(path.join(out, `${name}.expected.jsonl`), objs.map((o) => JSON.stringify(o, conv) + '\n').join(''));
  manifest.push(`${name} rows=${objs.length} ${await describe(file)}`);
}

// hyparquet-writer writes DATA_PAGE_V2 pages, so these cover v2 with every
// encoding it offers (DuckDB never writes DELTA_BYTE_ARRAY) and nesting.
async function hyparquetCase(name, opts) {
  const buf = parquetWriteBuffer(opts);
  const file = path.join(out, `${name}.parquet`);
  fs.writeFileSync(file, Buffer.from(buf));
  const objs = await parquetReadObjects({ file: buf instanceof ArrayBuffer ? buf : buf.buffer });
  const conv = (k, v) => (typeof v === 'bigint' ? Number(v) : v);
  fs.writeFileSync(path.join(out, `${name}.expected.jsonl`), objs.map((o) => JSON.stringify(o, conv) + '\n').join(''));
  manifest.push(`${name} rows=${objs.length} ${await describe(file)}`);
}
{
  const n = 700;
  const words = ['criterion', 'criteria', 'critical', 'crisis', 'cr', '', 'ünï', 'ünïcode ✓'];
  await hyparquetCase('hyparquet_v2_encodings', {
    rowGroupSize: 300,
    pageSize: 2000,
    columnData: [
      { name: 'dba', data: Array.from({ length: n }, (_, i) => (i % 13 === 0 ? null : words[i % 8] + (i % 3 ? String(i) : ''))),
        type: 'STRING', encoding: 'DELTA_BYTE_ARRAY' },
      { name: 'dlba', data: Array.from({ length: n }, (_, i) => (i % 11 === 0 ? null : 'x'.repeat(i % 40) + i)),
        type: 'STRING', encoding: 'DELTA_LENGTH_BYTE_ARRAY', codec: 'UNCOMPRESSED' },
      { name: 'd32', data: Array.from({ length: n }, (_, i) => (i % 2 ? 1 : -1) * ((i * 7919) % 2147483647)),
        type: 'INT32', encoding: 'DELTA_BINARY_PACKED', nullable: false },
      { name: 'd64', data: Array.from({ length: n }, (_, i) => (i % 9 === 0 ? null : (i % 2 ? 1n : -1n) * (i % 50 === 1 ? 2n ** 62n : (BigInt(i) ** 5n) * 37n))),
        type: 'INT64', encoding: 'DELTA_BINARY_PACKED' },
      { name: 'bss32', data: Float32Array.from({ length: n }, (_, i) => Math.sin(i) * 1e3), type: 'FLOAT', encoding: 'BYTE_STREAM_SPLIT' },
      { name: 'bss64', data: Array.from({ length: n }, (_, i) => (i % 6 === 0 ? null : Math.cos(i) / 3)), type: 'DOUBLE', encoding: 'BYTE_STREAM_SPLIT' },
      { name: 'flag', data: Array.from({ length: n }, (_, i) => (i % 10 === 0 ? null : (i * i) % 3 === 0)), type: 'BOOLEAN', encoding: 'RLE' },
    ],
  });
}
{
  // Nested, with an explicit schema: the standard three-level LIST of
  // structs (verl's prompt) in v2 pages, nulls at each level. (hyparquet-writer
  // cannot write the legacy two-level form, so that is not oracle-tested.)
  const n = 200;
  const prompt = Array.from({ length: n }, (_, i) => (i % 9 === 0 ? null : i % 10 === 0 ? [] :
    Array.from({ length: i % 4 }, (_, j) => ((i + j) % 7 === 0 ? null :
      { role: j % 2 ? 'assistant' : 'user', content: (i + j) % 5 === 0 ? null : `message ${j} of ${i} ✓` }))));
  await hyparquetCase('hyparquet_v2_nested', {
    rowGroupSize: 64,
    columnData: [
      { name: 'prompt', data: prompt },
    ],
    schema: [
      { name: 'root', num_children: 1 },
      { name: 'prompt', repetition_type: 'OPTIONAL', num_children: 1, converted_type: 'LIST' },
      { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
      { name: 'element', repetition_type: 'OPTIONAL', num_children: 2 },
      { name: 'role', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
      { name: 'content', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
    ],
  });
}

fs.writeFileSync(path.join(out, 'manifest.txt'), manifest.join('\n') + '\n');
console.log(manifest.join('\n'));
