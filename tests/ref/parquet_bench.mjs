// parquet_bench.mjs — the DuckDB side of bench/parquet.c.
//   node parquet_bench.mjs write FILE   writes a 100k-row verl-shaped rubric file (snappy)
//   node parquet_bench.mjs read FILE    times DuckDB (one thread) reading it, best of 3; prints
//                                       "scan WALL CPU" (all columns into DuckDB's vectors) and
//                                       "json WALL CPU" (every row as a JSON object), in seconds.
//                                       CPU time (process.cpuUsage) is what a shared machine does
//                                       not distort.
import { DuckDBInstance } from '@duckdb/node-api';

const [mode, file] = process.argv.slice(2);
const inst = await DuckDBInstance.create(':memory:', { threads: '1' });
const c = await inst.connect();

if (mode === 'write') {
  await c.run(`copy (select
      [{'role': 'system', 'content': 'You are a careful clinician. Case ' || i},
       {'role': 'user', 'content': 'My ' || (i % 90) || '-year-old has had a cough for ' || (i % 14) || ' days and a mild fever. ' ||
                                  'What should we watch for, and when should we see a doctor? ' || md5(i::varchar)}] as prompt,
      'healthbench' as data_source,
      'medical_chat' as ability,
      {'ground_truth': '', 'style': 'rule',
       'rubrics': list_transform(range(3 + i % 6), j -> {
          'criterion': 'Criterion ' || j || ': advises seeking care if symptoms ' || md5((i * 8 + j)::varchar),
          'points': ((j % 5) * 2 - 3)::bigint,
          'tags': {'axis': 'accuracy', 'cluster': case when j % 3 = 0 then null else 'emergency_referrals' end, 'level': 'example'}})}
        as reward_model,
      {'index': i::bigint, 'split': 'train'} as extra_info
    from range(100000) r(i)) to '${file}' (format parquet, compression snappy, row_group_size 20000)`);
} else {
  const time = async (sql) => {
    let wall = Infinity, cpu = Infinity;
    for (let k = 0; k < 3; k++) {
      const t0 = performance.now(), c0 = process.cpuUsage();
      await c.runAndReadAll(sql);
      const dc = process.cpuUsage(c0);
      wall = Math.min(wall, (performance.now() - t0) / 1000);
      cpu = Math.min(cpu, (dc.user + dc.system) / 1e6);
    }
    return `${wall} ${cpu}`;
  };
  console.log(`scan ${await time(`select * from read_parquet('${file}')`)}`);
  console.log(`json ${await time(`select sum(length(to_json(t)::varchar)) from read_parquet('${file}') t`)}`);
}
