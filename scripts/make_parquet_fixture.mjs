// Writes tests/MiniGpt.Tests/Fixtures/documents_hyparquet.parquet with a Parquet writer independent of
// Parquet.Net: hyparquet-writer 0.17.0 (npm). Two row groups (rows 0-1, 2-3), a "text" and an "id" column.
// Run outside the repository: mkdir /tmp/pq && cd /tmp/pq && npm install hyparquet-writer@0.17.0 &&
//   node /path/to/scripts/make_parquet_fixture.mjs /path/to/tests/MiniGpt.Tests/Fixtures/documents_hyparquet.parquet
import { parquetWriteFile } from 'hyparquet-writer'

parquetWriteFile({
  filename: process.argv[2],
  columnData: [
    { name: 'id', data: [1, 2, 3, 4], type: 'INT32' },
    { name: 'text', data: ['First document.', 'Second, with é and 日本.', 'Third one.', 'Fourth and last.'], type: 'STRING' },
  ],
  rowGroupSize: 2,
})
